#!/usr/bin/env bash
# fio --verify=crc32c on volume files (direct I/O, libaio, iodepth 16): random 4 KiB writes,
# random 512 B..128 KiB writes and sequential 1 MiB writes are verified right away, and again
# with --verify_only after the store was unmounted and mounted again; on a default volume, a
# zstd volume and a 64 KiB-page volume. A changed block must make the verify-only pass fail.
source "$(dirname "$0")/lib.sh"
t_init "$@"
command -v fio >/dev/null || fail "fio not found (apt-get install fio)"

M="$T/mnt"
cd "$T"  # fio writes state files into the current directory

# Three jobs on disjoint ranges so that every data set stays verifiable: random 4 KiB writes,
# random writes of 512 B to 128 KiB (partial pages: read-modify-write in the store), and
# sequential 1 MiB writes. Half of each buffer compresses, so zstd volumes compress for real.
cat >"$T/jobs.fio" <<'JOBS'
[global]
filename=${VOLFILE}
direct=1
ioengine=libaio
iodepth=16
verify=crc32c
verify_fatal=1
verify_dump=0
verify_state_save=0
do_verify=1
randrepeat=1
buffer_compress_percentage=50
refill_buffers=1
group_reporting=1

[randwrite-4k]
rw=randwrite
bs=4k
offset=0
size=160m

[randwrite-mixed]
stonewall
rw=randwrite
bsrange=512-128k
blockalign=512
offset=256m
size=96m

[seqwrite-1m]
stonewall
rw=write
bs=1m
offset=512m
size=512m
JOBS

run_fio() {
  local out="$T/fio.$1.out"
  shift
  if ! fio --output="$out" "$@"; then
    cat "$out" >&2
    return 1
  fi
  grep -E '^\s*(READ|WRITE):' "$out" | sed 's/^ */    /' || true
}

# Volumes: default (4 KiB pages, uncompressed), zstd-compressed, 64 KiB pages.
VOLUMES=(plain4k zstd4k plain64k)
step "store and volumes"
new_store "$T/store"
mount_store "$STORE" "$M"
ctl volume create plain4k --size 1G >/dev/null
ctl volume create zstd4k --size 1G --compression zstd >/dev/null
ctl volume create plain64k --size 1G --page-size 64K >/dev/null

for v in "${VOLUMES[@]}"; do
  step "fio write + verify on $v"
  VOLFILE="$M/volumes/$v" run_fio "write.$v" "$T/jobs.fio" || fail "fio write/verify on $v failed"
  grep -q 'err= 0' "$T/fio.write.$v.out" || fail "fio reported errors on $v"
done
zstd_stored="$(volume_stored_bytes zstd4k)"
plain_stored="$(volume_stored_bytes plain4k)"
log "stored bytes: plain4k $plain_stored, zstd4k $zstd_stored"
((zstd_stored < plain_stored * 9 / 10)) ||
  fail "zstd volume stores $zstd_stored bytes, not less than 90% of the uncompressed $plain_stored"

step "remount the store, fio --verify_only"
unmount_store "$STORE" "$M"
mount_store "$STORE" "$M"
for v in "${VOLUMES[@]}"; do
  VOLFILE="$M/volumes/$v" run_fio "verify.$v" --verify_only "$T/jobs.fio" ||
    fail "fio --verify_only on $v after remount failed: data lost or changed"
  [[ "$(grep -c 'READ:' "$T/fio.verify.$v.out")" == 3 ]] ||
    fail "fio --verify_only on $v did not read all three data sets"
done

step "a changed block must fail verification"
VOL="$M/volumes/plain4k"
head -c 4096 /dev/urandom |
  dd of="$VOL" bs=4096 seek=$(((512 << 20) / 4096 + 1000)) oflag=direct conv=notrunc status=none
if VOLFILE="$VOL" fio --output="$T/fio.changed.out" --verify_only --section=seqwrite-1m "$T/jobs.fio"; then
  fail "fio --verify_only passed although a block was overwritten"
fi
log "fio noticed the changed block, as it must"
unmount_store "$STORE" "$M"
assert_no_corruption
