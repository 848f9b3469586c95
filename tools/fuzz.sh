#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each one.
#
#   tools/fuzz.sh [--smoke | --runs N]      (default: --smoke, 20000 inputs per target)
#
# tools/test.sh runs the smoke; a long campaign is `tools/fuzz.sh --runs 10000000`. A crash
# leaves its input in build-fuzz/crashes/TARGET/ and makes this script exit non-zero.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CLONEFS_FUZZ_BUILD_DIR:-$root/build-fuzz}"
runs=20000
case "${1:-}" in
  "" | --smoke) ;;
  --runs) runs="${2:?--runs needs a number}" ;;
  *) echo "usage: $0 [--smoke | --runs N]" >&2; exit 2 ;;
esac
# target and the build directory it is in
targets=(export_stream_fuzz record_fuzz catalog_fuzz keystore_fuzz control_fuzz)
declare -A where=([export_stream_fuzz]=tools/export [record_fuzz]=store/log [catalog_fuzz]=store/meta
  [keystore_fuzz]=crypto [control_fuzz]=tools/control)

command -v clang++-14 >/dev/null || { echo "fuzz: clang++-14 is missing (tools/deps.sh all installs it)" >&2; exit 1; }
mkdir -p "$build"
if [[ ! -f $build/build.ninja ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCLONEFS_FUZZ=ON >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log"; echo "fuzz: configure failed" >&2; exit 1; }
fi
cmake --build "$build" --target "${targets[@]}" >"$build/build.log" 2>&1 ||
  { tail -n 50 "$build/build.log"; echo "fuzz: build failed" >&2; exit 1; }

rc=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  crashes="$build/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  start=$(date +%s)
  if "$build/${where[$t]}/$t" -runs="$runs" -max_len=65536 -timeout=10 \
      -artifact_prefix="$crashes/" "$corpus" >"$build/$t.log" 2>&1; then
    echo "fuzz: $t: $runs inputs, no crash ($(($(date +%s) - start)) s)"
  else
    tail -n 40 "$build/$t.log"
    echo "fuzz: $t FAILED; the input is in $crashes/" >&2
    rc=1
  fi
done
exit "$rc"
