#!/usr/bin/env bash
# Builds the threaded store tests with ThreadSanitizer (clang) and runs them.
#
#   tools/tsan.sh [TEST_BINARY...]     (default: the seven threaded store tests below)
#
# Not part of tools/test.sh yet: the stress test still has a report to settle (see issue 15's
# note). The options are needed, not cosmetic:
# - detect_deadlocks=0: a 1 MiB write holds 256 page-stripe locks at once and a whole-volume
#   operation (CloneInto) all 4096, past the deadlock detector's limit of 64 held locks; TSan
#   then fails an internal CHECK and hangs.
# - die_after_fork=0: the crash tests fork a child that opens a store (starts threads).
# - tools/tsan.supp: RocksDB is not instrumented, so the memory its lock-free memtable and
#   write group hand between threads looks racy to TSan.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CLONEFS_TSAN_BUILD_DIR:-$root/build-tsan}"
tests=("$@")
if ((${#tests[@]} == 0)); then
  tests=(store_stress_test store_store_test store_background_test store_run_reader_test
    store_read_pinned_changes_test store_snapshot_pin_test store_clone_into_test)
fi

command -v clang++-14 >/dev/null || { echo "tsan: clang++-14 is missing (tools/deps.sh all installs it)" >&2; exit 1; }
mkdir -p "$build"
if [[ ! -f $build/build.ninja ]]; then
  CC=clang-14 CXX=clang++-14 CXXFLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
    LDFLAGS="-fsanitize=thread" cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log"; echo "tsan: configure failed" >&2; exit 1; }
fi
cmake --build "$build" --target "${tests[@]}" >"$build/build.log" 2>&1 ||
  { tail -n 50 "$build/build.log"; echo "tsan: build failed" >&2; exit 1; }

export TSAN_OPTIONS="detect_deadlocks=0 die_after_fork=0 halt_on_error=1 suppressions=$root/tools/tsan.supp"
rc=0
for t in "${tests[@]}"; do
  start=$(date +%s)
  if "$build/store/engine/$t" >"$build/$t.log" 2>&1; then
    echo "tsan: $t: clean ($(($(date +%s) - start)) s)"
  else
    grep -m1 -A30 "WARNING: ThreadSanitizer" "$build/$t.log" || tail -n 30 "$build/$t.log"
    echo "tsan: $t FAILED (log: $build/$t.log)" >&2
    rc=1
  fi
done
exit "$rc"
