#!/usr/bin/env bash
# Renaming volumes (`clonectl volume modify NAME --new-name NEW`) against a running daemon, as
# real Unix users: ext4 mounted on a loop device keeps working while its image is renamed under
# it; the mount shows the new name at once and not the old; snapshots keep the name they were
# taken of; a shared volume cannot be renamed until its share is gone (Aurora's rule), and a
# cross-account clone stays one under its new name; every refusal changes nothing, and another
# account's volume answers byte for byte as a missing one; a restart keeps the new name.
source "$(dirname "$0")/lib.sh"
t_init "$@"
need_loop

UA="cfs-ra-$$" UB="cfs-rb-$$" UN="cfs-rn-$$"
A=111111111111 B=222222222222
M="$T/mnt" E="$T/ext4"
mkdir -p "$E"
for u in "$UA" "$UB" "$UN"; do t_useradd "$u"; done
new_store "$T/store"
mount_store "$STORE" "$M"
ctl account create "$A" --user "$UA" >/dev/null
ctl account create "$B" --user "$UB" >/dev/null
REGION="$(jc "$STORE" store info | jq -er .Region)"
arn() { echo "arn:clonefs:$REGION:$1:$2:$3"; }
head4() { run_as "$1" head -c 4 "$2"; }

step "ext4 on a loop device keeps working while its image is renamed under it"
ctl volume create pg --size 64M >/dev/null
ctl volume create spare --size 8M >/dev/null
loop_attach LOOP "$M/volumes/pg"
mkfs.ext4 -q -F "$LOOP"
mount "$LOOP" "$E"
dd if=/dev/urandom of="$E/before" bs=1M count=4 status=none
sync
ctl snapshot create pg pg-s1 >/dev/null
ctl_as root --json volume modify pg --new-name pg-renamed
expect_ok
jq -e '.VolumeIdentifier == "pg-renamed"' "$LAST.o" >/dev/null || fail "modify answered: $(cat "$LAST.o")"
dd if=/dev/urandom of="$E/after" bs=1M count=4 conv=fsync status=none
sum_before="$(sum_of "$E/before")" sum_after="$(sum_of "$E/after")"
umount "$E"
loop_detach "$LOOP"
[[ ! -e "$M/volumes/pg" ]] || fail "the old name is still in the mount"
[[ -f "$M/volumes/pg-renamed" ]] || fail "the new name is not in the mount"
ls "$M/volumes" | grep -qx pg-renamed || fail "the listing lacks the new name: $(ls "$M/volumes")"
ls "$M/volumes" | grep -qx pg && fail "the listing still has the old name"
ctl_as root volume show pg
expect_error VolumeNotFound
ctl_as root --json snapshot show pg-s1
jq -e '.VolumeIdentifier == "pg"' "$LAST.o" >/dev/null ||
  fail "the snapshot should keep the name its volume had: $(cat "$LAST.o")"
loop_attach LOOP "$M/volumes/pg-renamed"
e2fsck -fn "$LOOP" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn after the rename"; }
mount "$LOOP" "$E"
[[ "$(sum_of "$E/before")" == "$sum_before" && "$(sum_of "$E/after")" == "$sum_after" ]] ||
  fail "files written before and after the rename differ"
umount "$E"
loop_detach "$LOOP"

step "refusals change nothing"
ctl_as root volume modify pg-renamed --new-name spare
expect_error VolumeAlreadyExists
ctl_as root volume modify pg-renamed --new-name "bad name"
expect_error InvalidParameterValue
ctl_as root volume modify pg-renamed --new-name 9lives
expect_error InvalidParameterValue
ctl_as root volume modify pg-renamed --new-name "$(printf 'a%.0s' $(seq 64))"
expect_error InvalidParameterValue
ctl_as root volume modify pg-renamed
expect_error InvalidParameterCombination
ctl_as root volume modify no-such --new-name fresh
expect_error VolumeNotFound
ctl_as "$UN" volume modify pg-renamed --new-name fresh
[[ "$(cat "$LAST.rc")" != 0 ]] || fail "a user with no account renamed a volume"
ctl_as root --json volume list
jq -e '[.Volumes[].VolumeIdentifier] | sort == ["pg-renamed", "spare"]' "$LAST.o" >/dev/null ||
  fail "a refused rename changed the volumes: $(cat "$LAST.o")"

step "a shared volume cannot be renamed; once the share is gone it can"
ctl_as "$UA" volume create db --size 8M
expect_ok
run_as "$UA" python3 -c 'import sys; open(sys.argv[1], "r+b").write(b"A" * 4096)' "$M/volumes/db"
ctl_as "$UA" share create db-share --resource db --principal "$B"
expect_ok
ctl_as "$UA" volume modify db --new-name db2
expect_error InvalidVolumeState
grep -q "db-share" "$LAST.e" || fail "the refusal does not name the share: $(cat "$LAST.e")"
ctl_as "$UB" --json invitation list --status pending
INV="$(jq -er '.ResourceShareInvitations[0].ResourceShareInvitationArn' "$LAST.o")"
ctl_as "$UB" invitation accept "$INV"
expect_ok
ctl_as "$UA" volume modify db --new-name db2
expect_error InvalidVolumeState
# B renames nothing of A's: A's volume answers B as a missing one, by name and by ARN.
ctl_as "$UB" volume modify "$(arn "$A" volume db)" --new-name mine
theirs="$LAST"
expect_error VolumeNotFound
ctl_as "$UB" volume modify "$(arn "$A" volume no-such)" --new-name mine
like_missing "$theirs" db
ctl_as "$UB" --json volume clone "$(arn "$A" volume db)" bclone
expect_ok
jq -e '.CrossAccountClone == true' "$LAST.o" >/dev/null || fail "the clone is not marked: $(cat "$LAST.o")"
ctl_as "$UA" share delete db-share
expect_ok
ctl_as "$UA" --json volume modify db --new-name db2
expect_ok
[[ "$(head4 "$UA" "$M/volumes/db2")" == AAAA ]] || fail "the renamed volume reads $(head4 "$UA" "$M/volumes/db2")"
run_as "$UA" test -e "$M/volumes/db" && fail "A still sees the old name"

step "a renamed cross-account clone stays one"
ctl_as "$UB" --json volume modify bclone --new-name bclone2
expect_ok
jq -e '.CrossAccountClone == true and .VolumeIdentifier == "bclone2"' "$LAST.o" >/dev/null ||
  fail "the renamed clone: $(cat "$LAST.o")"
ctl_as "$UB" volume clone bclone2 again
expect_error InvalidVolumeState
ctl_as "$UB" share create again --resource bclone2 --principal "$A"
expect_error InvalidVolumeState
[[ "$(head4 "$UB" "$M/volumes/bclone2")" == AAAA ]] || fail "B's renamed clone reads $(head4 "$UB" "$M/volumes/bclone2")"
# Names are per account: B may take a name A uses.
ctl_as "$UB" volume modify bclone2 --new-name db2
expect_ok

step "a restart keeps the new names"
unmount_store "$STORE" "$M"
mount_store "$STORE" "$M"
ctl_as "$UB" --json volume show db2
jq -e '.CrossAccountClone == true' "$LAST.o" >/dev/null || fail "the clone lost its mark on restart: $(cat "$LAST.o")"
ctl_as "$UA" --json volume show db2
jq -e '.CrossAccountClone == false' "$LAST.o" >/dev/null || fail "A's volume after restart: $(cat "$LAST.o")"
ctl_as root volume show pg-renamed
expect_ok
[[ "$(head4 "$UB" "$M/volumes/db2")" == AAAA ]] || fail "B's clone reads $(head4 "$UB" "$M/volumes/db2") after a restart"
log "PASSED"
