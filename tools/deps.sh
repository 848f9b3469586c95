#!/usr/bin/env bash
# Installs the Debian 12 packages clonefs needs, only those that are missing.
#
#   tools/deps.sh [build|run|all|ceph]     (default: all)
#
#   build  compiler, CMake, Ninja, clang-format and the -dev packages of every library
#   run    what a mount needs at run time (fuse3, losetup, mkfs.ext4)
#   all    build + run + everything the test suite uses (fio, qemu-img, PostgreSQL 15, clang
#          and its sanitizer runtimes for the fuzz targets and tools/tsan.sh, llvm-symbolizer
#          for their reports, ...)
#   ceph   a single-node Ceph cluster for the RADOS store tests (mon, osd, the `ceph` and
#          `rados` CLIs) and the librados C/C++ headers; not part of `all` (about 51 MB of
#          downloads). Pacific (16.2) on Debian 12. Later block-device benchmarks will also
#          want rbd-fuse and rbd-nbd.
#
# Idempotent and quiet: runs `apt-get update` at most once, and only when something is missing.
# Also makes sure /dev/fuse and loop devices are available (warns, never fails, when they are
# not: the mount tests then say so loudly).
set -euo pipefail

what="${1:-all}"

build_pkgs=(cmake ninja-build g++ pkg-config libfuse3-dev libssl-dev libzstd-dev libspdlog-dev
  libgtest-dev libgmock-dev librocksdb-dev libcli11-dev nlohmann-json3-dev clang-format-14)
run_pkgs=(fuse3 util-linux mount e2fsprogs)
test_pkgs=(fio jq groff-base qemu-utils qemu-system-common postgresql-15 postgresql-client-15 python3 procps psmisc kmod
  clang-14 libclang-rt-14-dev llvm-14)
# ceph-mgr is left out on purpose: a pool can be created and used without one
# (tests/testing/ceph_cluster.sh).
ceph_pkgs=(ceph-mon ceph-osd ceph-common librados-dev libradospp-dev)

case "$what" in
  build) pkgs=("${build_pkgs[@]}" "${run_pkgs[@]}") ;;
  run) pkgs=("${run_pkgs[@]}") ;;
  all) pkgs=("${build_pkgs[@]}" "${run_pkgs[@]}" "${test_pkgs[@]}") ;;
  ceph) pkgs=("${ceph_pkgs[@]}") ;;
  *) echo "usage: $0 [build|run|all|ceph]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]]; then
    echo "deps: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  log="$(mktemp /tmp/clonefs-deps.XXXXXX.log)"
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
      </dev/null >"$log" 2>&1; then
    cat "$log" >&2
    echo "deps: apt-get failed (log above)" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
fi

# Kernel side: FUSE and loop devices. Best effort: in a container modprobe may be absent.
if [[ $EUID -eq 0 ]]; then
  if [[ ! -e /dev/fuse ]] && command -v modprobe >/dev/null; then
    modprobe fuse 2>/dev/null || true
  fi
  if [[ ! -e /dev/loop-control ]] && command -v modprobe >/dev/null; then
    modprobe loop 2>/dev/null || true
  fi
fi
[[ -e /dev/fuse ]] || echo "deps: WARNING: /dev/fuse is missing: mounts (and the mount tests) cannot run here" >&2
[[ -e /dev/loop-control ]] || echo "deps: WARNING: /dev/loop-control is missing: loop devices are unavailable" >&2
exit 0
