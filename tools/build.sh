#!/usr/bin/env bash
# Configures and builds clonefs (Release, Ninja) into build/ (or $CLONEFS_BUILD_DIR).
#
#   tools/build.sh [extra cmake -D options...]
#
# $CLONEFS_BUILD_TARGETS, when set, names the targets to build (default: all).
# With CI=true, warnings are errors (-DCLONEFS_WERROR=ON).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CLONEFS_BUILD_DIR:-$root/build}"

args=(-S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release)
if [[ "${CI:-}" == "true" ]]; then
  args+=(-DCLONEFS_WERROR=ON)
fi

# A build dir configured with another generator cannot be reused: start it afresh.
if [[ -f "$build/CMakeCache.txt" ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$build/CMakeCache.txt"; then
  echo "build: $build was configured with another generator; reconfiguring from scratch"
  rm -rf "$build"
fi

cmake "${args[@]}" "$@" >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" ${CLONEFS_BUILD_TARGETS:+--target $CLONEFS_BUILD_TARGETS}
