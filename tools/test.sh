#!/usr/bin/env bash
# Installs missing packages, checks formatting (tools/check_format.sh) and include layering
# (tools/check_layers.sh), builds (Release), runs a smoke of every fuzz target (tools/fuzz.sh)
# and runs the whole test suite with ctest:
# unit tests and the integration tests in tests/ (mounts, loop devices, ext4, fio, kill -9,
# ENOSPC, PostgreSQL). Exits non-zero on any failure.
#
#   tools/test.sh [extra ctest arguments, e.g. -L unit or -R postgres]
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
"$root/tools/build.sh" || { echo "test: build failed" >&2; exit 1; }
"$root/tools/fuzz.sh" --smoke || { echo "test: fuzz smoke failed" >&2; exit 1; }

if [[ ! -e /dev/fuse ]]; then
  echo "################################################################################"
  echo "# WARNING: /dev/fuse is missing: every mount test will be SKIPPED."
  echo "# This run does NOT prove that clonefs works. Run it where /dev/fuse exists."
  echo "################################################################################"
fi

log="$build/Testing/clonefs-ctest.log"
mkdir -p "$(dirname "$log")"
# Unit tests run two at a time; the integration tests are RUN_SERIAL (loop devices, mounts).
ctest --test-dir "$build" --output-on-failure --no-tests=error -j "$(nproc)" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

elapsed=$(($(date +%s) - start))
echo
echo "=== clonefs test summary ($((elapsed / 60))m$((elapsed % 60))s) ==="
grep -E 'tests passed|tests failed' "$log" | tail -n 1 || true
skipped=$(grep -cE '\*\*\*Skipped| Not Run ' "$log" || true)
if ((skipped > 0)); then
  echo "SKIPPED tests (see above for why):"
  grep -E '\*\*\*Skipped| Not Run ' "$log" | sed 's/^/  /'
fi
if ((rc != 0)); then
  echo "FAILED (ctest exit code $rc)"
else
  echo "OK"
fi
exit "$rc"
