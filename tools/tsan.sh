#!/usr/bin/env bash
# Builds the threaded store tests with ThreadSanitizer (clang) and runs them; exits non-zero on
# any report. tools/test.sh runs it after the sanitized unit tests.
#
#   tools/tsan.sh [TEST_TARGET...]     (default: the threaded store tests below)
#
# The build (CLONEFS_TSAN_BUILD_DIR, default build-tsan/) has only these test targets, at -O1
# with line tables only (reports keep function names and lines): from scratch, build and run
# take about 5 minutes on 2 cores, against almost 8 at -O2 -g. Each binary gets at most
# 10 minutes, so that a TSan hang fails the run instead of stalling CI.
# The options are needed, not cosmetic:
# - detect_deadlocks=0: a 1 MiB write holds 256 page-stripe locks at once and a whole-volume
#   operation (CloneInto) all 4096, past the deadlock detector's limit of 64 held locks; TSan
#   then fails an internal CHECK and hangs.
# - die_after_fork=0: the crash tests fork a child that opens a store (starts threads).
# - external_symbolizer_path: without a symbolizer a report has addresses, not functions and
#   lines; TSan looks for llvm-symbolizer, and Debian's (package llvm-14) is llvm-symbolizer-14.
# - tools/tsan.supp: RocksDB is not instrumented, so the memory its memtable hands between
#   threads looks racy to TSan. Its group commit is dealt with in store/meta/rocks_meta_db.cc.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CLONEFS_TSAN_BUILD_DIR:-$root/build-tsan}"
tests=("$@")
if ((${#tests[@]} == 0)); then
  tests=(store_stress_test store_store_test store_background_test store_run_reader_test
    store_read_pinned_changes_test store_snapshot_pin_test store_clone_into_test
    store_rocks_meta_db_test)
fi

for tool in clang++-14 llvm-symbolizer-14; do
  command -v "$tool" >/dev/null || { echo "tsan: $tool is missing (tools/deps.sh all installs it)" >&2; exit 1; }
done
mkdir -p "$build"
# Configured every run (a no-op when nothing changed), so that a tree made by an older version
# of this script gets these flags too. NDEBUG as in the other builds.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$(command -v clang++-14)" \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; echo "tsan: configure failed" >&2; exit 1; }
cmake --build "$build" --target "${tests[@]}" >"$build/build.log" 2>&1 ||
  { tail -n 50 "$build/build.log"; echo "tsan: build failed" >&2; exit 1; }

symbolizer="$(command -v llvm-symbolizer-14)"
export TSAN_OPTIONS="detect_deadlocks=0 die_after_fork=0 halt_on_error=1 \
external_symbolizer_path=$symbolizer suppressions=$root/tools/tsan.supp"
failed=0
for t in "${tests[@]}"; do
  start=$(date +%s)
  bin="$(find "$build/store" -name "$t" -type f -executable -print -quit)"
  if [[ -z $bin ]]; then
    echo "tsan: $t FAILED (no such binary under $build/store)" >&2
    failed=$((failed + 1))
  elif timeout -k 10 600 "$bin" >"$build/$t.log" 2>&1; then
    echo "tsan: $t: clean ($(($(date +%s) - start)) s)"
  else
    grep -m1 -A30 "WARNING: ThreadSanitizer" "$build/$t.log" || tail -n 30 "$build/$t.log"
    echo "tsan: $t FAILED (log: $build/$t.log)" >&2
    failed=$((failed + 1))
  fi
done
if ((failed > 0)); then
  echo "tsan: $failed of ${#tests[@]} test binaries FAILED"
  exit 1
fi
echo "tsan: ${#tests[@]} of ${#tests[@]} test binaries clean"
