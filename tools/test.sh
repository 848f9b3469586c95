#!/usr/bin/env bash
# Installs missing packages, checks formatting (tools/check_format.sh) and include layering
# (tools/check_layers.sh), runs a smoke of every fuzz target (tools/fuzz.sh, clang with ASan and
# UBSan) and the whole test suite with ctest: the unit tests built with the same sanitizers
# (in the fuzz build, build-fuzz/), the threaded store tests under ThreadSanitizer
# (tools/tsan.sh, in build-tsan/), and the integration tests in tests/ (mounts, loop devices,
# ext4, fio, kill -9, ENOSPC, PostgreSQL) against the Release build of the tools. Exits
# non-zero on any failure (a sanitizer report fails its test).
#
#   tools/test.sh                 everything, as CI runs it
#   tools/test.sh CTEST_ARGS...   the Release build of everything, then ctest CTEST_ARGS
#                                 (e.g. -L unit or -R postgres) in it, without sanitizers
#
# The integration tests need root, /dev/fuse and loop devices. Where /dev/fuse is missing they
# are reported as skipped, loudly; nowhere else do they skip.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CLONEFS_BUILD_DIR:-$root/build}"
start=$(date +%s)

"$root/tools/deps.sh" all || { echo "test: installing dependencies failed" >&2; exit 1; }
"$root/tools/check_format.sh" || { echo "test: formatting check failed" >&2; exit 1; }
"$root/tools/check_layers.sh" || { echo "test: include layering check failed" >&2; exit 1; }
if (($# > 0)); then
  "$root/tools/build.sh" || { echo "test: build failed" >&2; exit 1; }
else
  # The integration tests need only the tools in Release; the unit tests run sanitized.
  CLONEFS_BUILD_TARGETS="clonefs clonectl clonefs-export" "$root/tools/build.sh" ||
    { echo "test: build failed" >&2; exit 1; }
  "$root/tools/fuzz.sh" --smoke || { echo "test: fuzz smoke failed" >&2; exit 1; }
fi

if [[ ! -e /dev/fuse ]]; then
  echo "################################################################################"
  echo "# WARNING: /dev/fuse is missing: every mount test will be SKIPPED."
  echo "# This run does NOT prove that clonefs works. Run it where /dev/fuse exists."
  echo "################################################################################"
fi

log="$build/Testing/clonefs-ctest.log"
mkdir -p "$(dirname "$log")"
# Unit tests run two at a time; the integration tests are RUN_SERIAL (loop devices, mounts).
if (($# > 0)); then
  ctest --test-dir "$build" --output-on-failure --no-tests=error -j "$(nproc)" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
else
  sanitized="${CLONEFS_FUZZ_BUILD_DIR:-$root/build-fuzz}"
  echo "test: building the unit tests with ASan and UBSan in $sanitized"
  cmake --build "$sanitized" -j "$(nproc)" >"$sanitized/build-tests.log" 2>&1 ||
    { tail -n 50 "$sanitized/build-tests.log"; echo "test: sanitized build failed" >&2; exit 1; }
  # UBSan only prints by default: halt, so that a report fails the test.
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    ctest --test-dir "$sanitized" --output-on-failure --no-tests=error -j "$(nproc)" -L unit 2>&1 |
    tee "$log"
  rc=${PIPESTATUS[0]}
  # Races, which ASan cannot see. From a clean build-tsan/ this adds about 5 minutes.
  echo "test: the threaded store tests under ThreadSanitizer (tools/tsan.sh)"
  "$root/tools/tsan.sh" 2>&1 | tee -a "$log"
  trc=${PIPESTATUS[0]}
  ((rc == 0)) && rc=$trc
  ctest --test-dir "$build" --output-on-failure --no-tests=error -L integration 2>&1 | tee -a "$log"
  irc=${PIPESTATUS[0]}
  ((rc == 0)) && rc=$irc
fi

elapsed=$(($(date +%s) - start))
echo
echo "=== clonefs test summary ($((elapsed / 60))m$((elapsed % 60))s) ==="
# The unit and the integration run's, and tools/tsan.sh's.
grep -E 'tests passed|tests failed|^tsan: [0-9]+ of [0-9]+ test binaries' "$log" || true
skipped=$(grep -cE '\*\*\*Skipped| Not Run ' "$log" || true)
if ((skipped > 0)); then
  echo "SKIPPED tests (see above for why):"
  grep -E '\*\*\*Skipped| Not Run ' "$log" | sed 's/^/  /'
fi
if ((rc != 0)); then
  echo "FAILED (exit code $rc)"
else
  echo "OK"
fi
exit "$rc"
