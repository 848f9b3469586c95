#!/usr/bin/env bash
# Disk full: a store on a small ext4 (160 MiB image, loop-mounted), a volume far bigger than the
# disk. The writer must get ENOSPC; the daemon keeps serving and loses nothing acknowledged;
# once space is freed, writes work again; discard + gc give the space back. Restore points are
# off (-o pitr=off): with them, what was discarded stays for the restore window's retention
# (tests/pitr_retention.sh), and this test is about the space the volume's own data takes.
source "$(dirname "$0")/lib.sh"
t_init "$@"
need_loop

D="$T/disk"
M="$T/mnt"
VOL="$M/volumes/big"
ACKS="$T/chunks.log"

avail_kib() { df --output=avail -k "$D" | tail -n 1 | tr -d ' '; }

step "a 160 MiB ext4 as the store's disk, with 40 MiB of ballast"
truncate -s 160M "$T/disk.img"
mkfs.ext4 -q -F -m 0 "$T/disk.img"
mkdir -p "$D"
loop_attach DLOOP "$T/disk.img"
mount "$DLOOP" "$D"
dd if=/dev/urandom of="$D/ballast" bs=1M count=40 conv=fsync status=none
new_store "$D/store"
export MOUNT_OPTS=pitr=off
mount_store "$STORE" "$M"
sync -f "$D"
free_initial=$(avail_kib)
ctl volume create big --size 1G >/dev/null
log "disk free: $(avail_kib) KiB; volume: $(stat -c %s "$VOL") bytes"

step "write 1 MiB chunks with fsync until ENOSPC"
: >"$ACKS"
iotool fill --file "$VOL" --log "$ACKS" --max 1024 || fail "writer did not end with ENOSPC"
acked=$(wc -l <"$ACKS")
((acked >= 20)) || fail "only $acked MiB written before ENOSPC: the store wastes space"
log "disk free now: $(avail_kib) KiB"

step "the daemon still serves, and nothing acknowledged is lost"
pid_alive "$DAEMON_PID" || fail "daemon died on ENOSPC"
[[ "$(stat -c %s "$VOL")" == $((1 << 30)) ]] || fail "stat of the volume failed or changed"
ctl volume list >/dev/null || fail "clonectl volume list fails on a full disk"
iotool verify-chunks --file "$VOL" --log "$ACKS" --min "$acked" || fail "acknowledged data lost on ENOSPC"
# A second attempt while still full fails cleanly too (and does not kill the daemon).
rc=0
python3 "$IOTOOL" fill --file "$VOL" --log "$T/ignored.log" --start 900 --max 64 >"$T/fill2.out" 2>&1 || rc=$?
((rc == 0)) || { cat "$T/fill2.out"; fail "second write on a full disk: expected ENOSPC (exit $rc)"; }
pid_alive "$DAEMON_PID" || fail "daemon died on the second ENOSPC"

step "free the ballast: writes work again"
rm "$D/ballast"
sync -f "$D"
log "disk free: $(avail_kib) KiB"
iotool fill --file "$VOL" --log "$ACKS" --start "$acked" --max 16 --expect-space ||
  fail "writes still fail after space was freed"
iotool verify-chunks --file "$VOL" --log "$ACKS" --min $((acked + 16)) || fail "data lost after refill"

step "remount the store: everything acknowledged is there"
unmount_store "$STORE" "$M"
mount_store "$STORE" "$M"
iotool verify-chunks --file "$VOL" --log "$ACKS" --min $((acked + 16)) || fail "data lost across remount after ENOSPC"

step "discard + gc give the space back"
free_before=$(avail_kib)
fallocate --punch-hole --keep-size --offset 0 --length $((1 << 30)) "$VOL" || fail "punch hole on the volume failed"
[[ "$(stat -c %s "$VOL")" == $((1 << 30)) ]] || fail "punch hole changed the volume size"
cmp -n $((8 << 20)) "$VOL" /dev/zero || fail "punched range does not read as zeros"
stored="$(volume_stored_bytes big)"
((stored == 0)) || fail "volume still stores $stored bytes after discarding everything"
ctl gc >/dev/null || fail "clonectl gc failed"
sync -f "$D"
free_after=$(avail_kib)
log "disk free: before discard $free_before KiB, after discard+gc $free_after KiB; store usage: $(ctl --json store usage | tr -d ' \n')"
(((free_after - free_before) * 1024 >= (acked << 20) / 2)) ||
  fail "gc returned only $((free_after - free_before)) KiB of $((acked + 16)) MiB discarded"
((free_after >= free_initial - 8192)) ||
  fail "after discard+gc the disk has $free_after KiB free, an empty store had $free_initial KiB"

step "delete the volume"
ctl volume delete big >/dev/null
ctl gc >/dev/null
sync -f "$D"
log "disk free after delete+gc: $(avail_kib) KiB (right after init: $free_initial KiB); store usage: $(ctl --json store usage | tr -d ' \n')"
unmount_store "$STORE" "$M"
umount "$D"
loop_detach "$DLOOP"
assert_no_corruption
