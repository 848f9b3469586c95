#!/usr/bin/env bash
# ext4 on a loop device on a volume file: files written and fsync'd survive unmounting and
# remounting the store (loop with and without direct I/O); e2fsck -f is clean; fstrim frees
# stored pages; qemu-img compare agrees with a plain sparse copy.
source "$(dirname "$0")/lib.sh"
t_init "$@"
need_loop
command -v qemu-img >/dev/null || fail "qemu-img not found (apt-get install qemu-utils)"

M="$T/mnt"
E="$T/ext4"
VOL="$M/volumes/v1"
mkdir -p "$E"

# write_set NAME SEED MIB: writes a file tree into the ext4 and records its checksums outside.
write_set() {
  iotool mkfiles "$E/$1" "$2" "$3"
  (cd "$E" && find "$1" -type f -print0 | sort -z | xargs -0 sha256sum) >"$T/manifest.$1"
  sync -f "$E"
  log "wrote set $1: $(wc -l <"$T/manifest.$1") files, $(du -sm "$E/$1" | cut -f1) MiB"
}

check_sets() {
  local s
  for s in "$@"; do
    (cd "$E" && sha256sum --quiet -c "$T/manifest.$s") || fail "set $s: checksums differ after remount"
  done
  log "sets $* intact"
}

# remount_all DIO: ext4 down, loop detached, store unmounted and mounted again, loop re-attached,
# e2fsck -fn clean, ext4 mounted again.
remount_all() {
  local dio_opts=()
  [[ $1 == on ]] && dio_opts=(--direct-io=on)
  umount "$E"
  loop_detach "$LOOP"
  unmount_store "$STORE" "$M"
  mount_store "$STORE" "$M"
  [[ "$(stat -c %s "$VOL")" == $((512 << 20)) ]] || fail "volume size changed across remount"
  loop_attach LOOP "$VOL" "${dio_opts[@]}"
  e2fsck -fn "$LOOP" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn $LOOP reports problems"; }
  log "e2fsck -fn clean: $(tail -n 1 "$T/fsck.out")"
  mount "$LOOP" "$E"
}

step "store, volume, mount"
new_store "$T/store"
mount_store "$STORE" "$M" daemon
ctl volume create v1 --size 512M >/dev/null
[[ "$(stat -c %s "$VOL")" == $((512 << 20)) ]] || fail "volume file size is not 512 MiB"

step "loop without direct I/O: mkfs.ext4, write, remount"
loop_attach LOOP "$VOL"
[[ "$(loop_dio "$LOOP")" == 0 ]] || fail "loop $LOOP unexpectedly in direct I/O mode"
mkfs.ext4 -q -F "$LOOP" || fail "mkfs.ext4 on $LOOP failed"
mount "$LOOP" "$E"
write_set A 1 24
remount_all off
check_sets A

step "loop with --direct-io=on: write more, remount"
umount "$E"
loop_detach "$LOOP"
loop_attach LOOP "$VOL" --direct-io=on
[[ "$(loop_dio "$LOOP")" == 1 ]] || fail "losetup --direct-io=on did not enable direct I/O on $LOOP"
mount "$LOOP" "$E"
check_sets A
write_set B 2 120
remount_all on
[[ "$(loop_dio "$LOOP")" == 1 ]] || fail "direct I/O not enabled after re-attach"
check_sets A B

step "fstrim returns the pages of a deleted file"
before="$(volume_stored_bytes v1)"
rm -rf "$E/B"
sync -f "$E"
trim_out="$(fstrim -v "$E")" || fail "fstrim -v $E failed"
log "$trim_out"
trimmed="$(grep -o '([0-9]* bytes)' <<<"$trim_out" | tr -dc 0-9)"
((trimmed >= 100 << 20)) || fail "fstrim trimmed only $trimmed bytes"
after="$(volume_stored_bytes v1)"
log "stored bytes: before $before, after $after"
((before - after >= 100 << 20)) || fail "stored bytes dropped by only $((before - after)) after fstrim (expected >= 100 MiB)"
check_sets A

step "qemu-img compare against a plain sparse copy"
umount "$E"
e2fsck -fn "$LOOP" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn after fstrim reports problems"; }
loop_detach "$LOOP"
cp --sparse=always "$VOL" "$T/copy.img"
qemu-img compare -f raw -F raw "$VOL" "$T/copy.img" || fail "qemu-img compare: volume differs from its copy"
# The comparison must be able to fail: change one byte in the copy.
printf 'X' | dd of="$T/copy.img" bs=1 seek=$((300 << 20)) conv=notrunc status=none
rc=0
qemu-img compare -q -f raw -F raw "$VOL" "$T/copy.img" || rc=$?
((rc == 1)) || fail "qemu-img compare did not notice a changed byte (exit $rc)"
unmount_store "$STORE" "$M"
assert_no_corruption
