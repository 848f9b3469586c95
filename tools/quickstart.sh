#!/usr/bin/env bash
# From a fresh Debian 12 machine (as root) to a mounted clonefs store with a demo volume.
#
#   tools/quickstart.sh [MOUNTPOINT]        (default /mnt/clonefs)
#
# Installs the missing Debian packages, builds (Release) into build/, creates the default store
# (region "local") in $CLONEFS_HOME or /var/lib/clonefs/local, mounts it at MOUNTPOINT in the
# background (daemon log in $CLONEFS_LOG, default /var/log/clonefs/NAME.log), creates a 1 GiB
# volume "demo", and prints what to do next. Every step is skipped when already done, so
# running it again is harmless.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CLONEFS_BUILD_DIR:-$root/build}"
store="${CLONEFS_HOME:-/var/lib/clonefs/local}"
mnt="${1:-/mnt/clonefs}"
logfile="${CLONEFS_LOG:-/var/log/clonefs/$(basename "$store").log}"
demo=demo
demo_size=1G

say() { printf '==> %s\n' "$*"; }

if [[ $EUID -ne 0 ]]; then
  echo "quickstart: run as root (it installs packages and mounts a filesystem)" >&2
  exit 1
fi

say "checking Debian packages"
"$root/tools/deps.sh" build

say "building (Release) in $build"
mkdir -p "$build"
"$root/tools/build.sh" >"$build/quickstart-build.log" 2>&1 || {
  tail -n 40 "$build/quickstart-build.log" >&2
  echo "quickstart: build failed; full log in $build/quickstart-build.log" >&2
  exit 1
}
clonefs="$build/tools/clonefs"
clonectl="$build/tools/clonectl"
ctl() { "$clonectl" --store "$store" "$@"; }

if [[ -d "$store" && -n "$(ls -A "$store")" ]]; then
  say "store $store exists"
else
  say "creating store $store (region local)"
  mkdir -p "$(dirname "$store")"
  "$clonectl" --store "$store" init --region local
fi

if findmnt -rn -M "$mnt" >/dev/null 2>&1; then
  fstype="$(findmnt -rn -o FSTYPE -M "$mnt")"
  if [[ $fstype != fuse* ]]; then
    echo "quickstart: $mnt is already a $fstype mount; choose another mountpoint" >&2
    exit 1
  fi
  say "$mnt is already mounted ($fstype)"
else
  say "mounting $store at $mnt (daemon log: $logfile)"
  mkdir -p "$mnt" "$(dirname "$logfile")"
  "$clonefs" "$store" "$mnt" >>"$logfile" 2>&1 </dev/null || {
    tail -n 20 "$logfile" >&2
    echo "quickstart: mounting $store at $mnt failed (log above)" >&2
    exit 1
  }
fi

if [[ -e "$mnt/volumes/$demo" ]]; then
  say "volume $demo exists"
else
  say "creating volume $demo ($demo_size)"
  ctl volume create "$demo" --size "$demo_size" >/dev/null
fi

cat <<EOF

clonefs is running: store $store, mounted at $mnt
  volumes:   $(ls "$mnt/volumes" | tr '\n' ' ')
  clonectl:  $clonectl --store $store volume list
  log:       $logfile

Put a filesystem on the demo volume and use it:
  LOOP=\$(losetup -f --show $mnt/volumes/$demo)
  mkfs.ext4 \$LOOP                 # once
  mkdir -p /mnt/demo && mount \$LOOP /mnt/demo

More volumes:
  $clonectl --store $store volume create db1 --size 20G

When done:
  umount /mnt/demo && losetup -d \$LOOP
  fusermount3 -u $mnt              # flushes everything and stops the daemon

Run the test suite: tools/test.sh
EOF
