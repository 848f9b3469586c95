#!/usr/bin/env bash
# The restore window follows the retention, on a daemon whose clock runs an hour a second:
# three synced writes a day apart on a volume kept 3 days are each restorable and held as
# BackupStorageBytes; lowering the retention to 1 day shortens the window at once and GC frees
# the history that left it within seconds, keeping the image the window's start shows; a
# restart keeps the shorter window.
source "$(dirname "$0")/lib.sh"
t_init "$@"

M="$T/mnt"
RATE=3600  # store seconds per real second: a day is 24 s
DAY_S=$((86400 / RATE + 1))
MIB=$((1 << 20))

# write_synced K: 16 MiB of random bytes (kept as $T/pK) over the start of the volume, fsync'd; prints the
# daemon's latest restorable time right after (the store's clock).
write_synced() {
  head -c $((16 * MIB)) /dev/urandom >"$T/p$1"
  dd if="$T/p$1" of="$M/volumes/v" bs=1M conv=notrunc,fsync status=none || fail "write $1"
  jc "$STORE" volume show v | jq -er .LatestRestorableTime
}
backup_bytes() { jc "$STORE" volume usage v | jq -er .BackupStorageBytes; }
# restored_is NAME K: NAME's first 16 MiB are write K's.
restored_is() { cmp -s -n $((16 * MIB)) "$M/volumes/$1" "$T/p$2" || fail "$1 does not hold write $2"; }

step "three synced writes a day apart, kept 3 days"
new_store "$T/store"
MOUNT_OPTS="clock_start=$(date +%s),clock_rate=$RATE" mount_store "$STORE" "$M"
ctl volume create v --size 64M --backup-retention-period 3 >/dev/null
t1="$(write_synced 1)"
sleep "$DAY_S"
t2="$(write_synced 2)"
sleep "$DAY_S"
t3="$(write_synced 3)"
log "restore points at $t1, $t2, $t3"
for k in 1 2 3; do
  t="t$k"
  jc "$STORE" volume restore-to-time v "r$k" --restore-time "${!t}" >/dev/null
  restored_is "r$k" "$k"
  ctl volume delete "r$k" >/dev/null || fail "delete r$k"
done
held="$(backup_bytes)"
((held >= 32 * MIB && held < 34 * MIB)) || fail "BackupStorageBytes $held, not the two overwritten writes"
live="$(live_bytes "$STORE")"
log "BackupStorageBytes $held, live $live"

step "retention 3 -> 1 day: the window shortens and GC frees the first write at once"
ctl volume modify v --backup-retention-period 1 >/dev/null
earliest="$(jc "$STORE" volume show v | jq -er .EarliestRestorableTime)"
[[ "$earliest" > "$t1" ]] || fail "the window still starts at $earliest"
ctl_as root volume restore-to-time v gone --restore-time "$t1"
expect_error InvalidRestoreTime
freed=0
for _ in $(seq 50); do
  now="$(live_bytes "$STORE")"
  if ((now <= live - 15 * MIB)); then freed=1; break; fi
  sleep 0.2
done
((freed)) || fail "live bytes $now, not 16 MiB below $live within 10 s"
held="$(backup_bytes)"
((held >= 16 * MIB && held < 17 * MIB)) || fail "BackupStorageBytes $held after the shorter retention"
# The window's start shows the second write (the first one's time is gone). The start moves an
# hour a second: restore to 10 minutes past where it is now.
earliest="$(jc "$STORE" volume show v | jq -er .EarliestRestorableTime)"
soon="$(date -u -d "@$(($(date -u -d "$earliest" +%s) + 600))" +%Y-%m-%dT%H:%M:%SZ)"
jc "$STORE" volume restore-to-time v start --restore-time "$soon" >/dev/null
restored_is start 2
ctl volume delete start >/dev/null

step "a restart keeps the shorter window"
unmount_store "$STORE" "$M"
# Its clock starts again where the first one had got to (and a bit past it).
MOUNT_OPTS="clock_start=$(($(date -u -d "$t3" +%s) + 600)),clock_rate=$RATE" mount_store "$STORE" "$M"
ctl_as root volume restore-to-time v gone --restore-time "$t1"
expect_error InvalidRestoreTime
jc "$STORE" volume restore-to-time v last --restore-time "$t3" >/dev/null
restored_is last 3
assert_no_corruption
unmount_store "$STORE" "$M"
