#!/usr/bin/env bash
# Automated backups against a running daemon on a fast test clock (clock_start=, clock_rate=):
# one automated snapshot a day in each volume's window, crash-consistent under a mounted ext4,
# per account; automated snapshots cannot be deleted, shared or named by users, and are kept
# only by copying them; a restart during a window makes up the backup once; retention expires
# them, and a shorter retention frees at once; volume delete takes a final snapshot and takes
# the automated ones along unless they are retained, which then expire on their own.
source "$(dirname "$0")/lib.sh"
t_init "$@"
need_loop

UA="cfs-ba-$$" UB="cfs-bb-$$"
A=111111111111 B=222222222222
M="$T/mnt" E="$T/ext4" R="$T/ro"
mkdir -p "$E" "$R"
for u in "$UA" "$UB"; do t_useradd "$u"; done
new_store "$T/store"

# unix_time ISO: seconds since the epoch of a UTC time.
unix_time() { date -u -d "$1" +%s; }
# Mounts on a clock that starts at ISO and runs 120x (a real second is two minutes), looking at
# the schedule four times a real second (every 30 s of the clock).
mount_at() {
  BACKUPS=on MOUNT_OPTS="backup_check_ms=250,clock_start=$(unix_time "$1"),clock_rate=120" \
    mount_store "$STORE" "$M"
}
# automated USER [VOLUME]: the names of USER's automated snapshots (of VOLUME), sorted.
automated() {
  ctl_as "$1" --json snapshot list --snapshot-type automated ${2:+--volume "$2"}
  expect_ok
  jq -r '[.Snapshots[].SnapshotIdentifier] | sort | .[]' "$LAST.o"
}
# wait_automated USER VOLUME N: waits (at most 60 s) until VOLUME has N automated snapshots.
wait_automated() {
  local deadline=$(($(date +%s) + 60))
  until [[ "$(automated "$1" "$2" | grep -c .)" == "$3" ]]; do
    (($(date +%s) < deadline)) || fail "$2 has $(automated "$1" "$2" | grep -c .) automated snapshots, not $3: $(automated "$1" "$2" | tr '\n' ' ')"
    sleep 0.2
  done
}

step "one automated snapshot in the window, of what was written before it"
mount_at 2026-12-07T02:45:00Z
ctl account create "$A" --user "$UA" >/dev/null
ctl account create "$B" --user "$UB" >/dev/null
ctl_as root --json volume create db --size 64M --backup-retention-period 1 \
  --preferred-backup-window 03:00-03:30
expect_ok
jq -e '.BackupRetentionPeriod == 1 and .PreferredBackupWindow == "03:00-03:30"' "$LAST.o" >/dev/null ||
  fail "create answered: $(cat "$LAST.o")"
ctl_as "$UB" volume create bvol --size 8M --preferred-backup-window 03:00-03:30
expect_ok
loop_attach LOOP "$M/volumes/db"
mkfs.ext4 -q -F "$LOOP"
mount "$LOOP" "$E"
dd if=/dev/urandom of="$E/before" bs=1M count=4 status=none
sync
sum_before="$(sum_of "$E/before")"
[[ -z "$(automated root)" ]] || fail "a snapshot before the window: $(automated root)"
wait_automated root db 1
first="$(automated root db)"
[[ "$first" =~ ^auto:db-2026-12-07-03-[0-2][0-9]$ ]] || fail "automated snapshot named $first"
ctl_as root --json snapshot show "$first"
jq -e '.SnapshotType == "automated" and .VolumeIdentifier == "db"' "$LAST.o" >/dev/null ||
  fail "show: $(cat "$LAST.o")"
[[ -f "$M/snapshots/$first" ]] || fail "$first is not in the mount: $(ls "$M/snapshots")"
rm -f "$M/snapshots/$first" 2>/dev/null && fail "rm of an automated snapshot in the mount worked"
[[ -f "$M/snapshots/$first" ]] || fail "rm took $first away"
loop_attach SLOOP "$M/snapshots/$first"
mount -o ro,noload "$SLOOP" "$R"
[[ "$(sum_of "$R/before")" == "$sum_before" ]] || fail "the automated snapshot does not hold what was synced before it"
umount "$R"
loop_detach "$SLOOP"
# Per account: B's volume has its own, which A does not see.
wait_automated "$UB" bvol 1
[[ "$(automated "$UB")" =~ ^auto:bvol-2026-12-07-03- ]] || fail "B's: $(automated "$UB")"
[[ -z "$(automated "$UA")" ]] || fail "A sees automated snapshots: $(automated "$UA")"
ctl_as "$UA" snapshot show "$(automated "$UB")"
expect_error SnapshotNotFound

step "automated snapshots are not for users to name, delete or share; a copy keeps one"
ctl_as root snapshot delete "$first"
expect_error InvalidSnapshotState
ctl_as root snapshot attribute modify "$first" --attribute restore --add "$A"
expect_error InvalidSnapshotState
ctl_as root snapshot create db auto:db-2026-12-07-04-00
expect_error InvalidParameterValue
for bad in "--backup-retention-period 0" "--backup-retention-period 36" \
  "--preferred-backup-window 03:00-03:10" "--preferred-backup-window 25:00-25:30"; do
  # shellcheck disable=SC2086
  ctl_as root volume modify db $bad
  expect_error InvalidParameterValue
done
ctl_as root --json volume show db
jq -e '.BackupRetentionPeriod == 1 and .PreferredBackupWindow == "03:00-03:30"' "$LAST.o" >/dev/null ||
  fail "a refused modify changed the policy: $(cat "$LAST.o")"
ctl_as root snapshot copy "$first" kept --wait
expect_ok
ctl_as root --json snapshot show kept
jq -e '.SnapshotType == "manual"' "$LAST.o" >/dev/null || fail "the copy: $(cat "$LAST.o")"
umount "$E"
loop_detach "$LOOP"
unmount_store "$STORE" "$M"

step "a restart during the next day's window makes that backup up once; the first expires"
mount_at 2026-12-08T03:20:00Z
wait_automated root db 1
second="$(automated root db)"
[[ "$second" =~ ^auto:db-2026-12-08-03-2[0-9]$ ]] || fail "after the restart: $second"
sleep 2  # many passes: still one
[[ "$(automated root db)" == "$second" ]] || fail "more than one backup in a window: $(automated root db)"
ctl_as root snapshot show kept
expect_ok

step "retention: a longer one keeps days, a shorter one frees at once"
ctl_as root volume modify db --backup-retention-period 3
expect_ok
unmount_store "$STORE" "$M"
mount_at 2026-12-09T03:10:00Z
wait_automated root db 2
unmount_store "$STORE" "$M"
mount_at 2026-12-10T03:10:00Z
wait_automated root db 3
ctl_as root --json volume modify db --backup-retention-period 1
expect_ok
jq -e '.BackupRetentionPeriod == 1' "$LAST.o" >/dev/null || fail "modify: $(cat "$LAST.o")"
wait_automated root db 1
[[ "$(automated root db)" =~ ^auto:db-2026-12-10- ]] || fail "kept the wrong one: $(automated root db)"

step "volume delete: a final snapshot; automated ones go, or stay when retained"
ctl_as root volume create keepme --size 8M --backup-retention-period 2 \
  --preferred-backup-window 03:00-03:30
expect_ok
unmount_store "$STORE" "$M"
mount_at 2026-12-11T03:05:00Z
wait_automated root db 1
wait_automated root keepme 1
ctl_as root volume delete db --final-snapshot db-final
expect_ok
ctl_as root --json snapshot show db-final
jq -e '.SnapshotType == "manual" and .VolumeIdentifier == "db"' "$LAST.o" >/dev/null ||
  fail "final snapshot: $(cat "$LAST.o")"
[[ -z "$(automated root db)" ]] || fail "db's automated snapshots stayed: $(automated root db)"
ctl_as root volume delete keepme --final-snapshot db-final
expect_error SnapshotAlreadyExists
ctl_as root volume show keepme
expect_ok
ctl_as root volume delete keepme --retain-automated-backups
expect_ok
retained="$(automated root keepme)"
[[ "$retained" =~ ^auto:keepme-2026-12-11- ]] || fail "retained: $retained"
ctl_as root volume restore "$retained" keepme-back
expect_ok
ctl_as root volume delete keepme-back
expect_ok
# Listed with the window its volume can still be restored to, and restorable to a time in it.
ctl_as root --json snapshot show "$retained"
jq -e '.BackupStatus == "retained" and (.RestoreWindow.EarliestTime | length) > 0 and
       .RestoreWindow.LatestTime >= .RestoreWindow.EarliestTime' "$LAST.o" >/dev/null ||
  fail "retained backup without its restore window: $(cat "$LAST.o")"
ctl_as root volume restore-to-time keepme keepme-pitr --use-latest-restorable-time
expect_ok
ctl_as root volume delete keepme-pitr
expect_ok
unmount_store "$STORE" "$M"
mount_at 2026-12-13T04:00:00Z  # two days later: its retention is over
wait_automated root keepme 0
ctl_as root volume restore-to-time keepme keepme-late --use-latest-restorable-time
expect_error VolumeNotFound
ctl_as root snapshot show kept
expect_ok
ctl_as root snapshot show db-final
expect_ok
log "PASSED"
