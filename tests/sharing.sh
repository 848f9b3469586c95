#!/usr/bin/env bash
# Sharing between accounts through the CLI and the mount, as real Unix users against a running
# daemon: a snapshot's restore attribute lets the accounts it names restore and copy it, and
# list it with --include-shared (and nobody else: an unshared ARN answers byte for byte as one
# that does not exist); a resource share
# lets an account clone a volume only once it accepted the invitation; a cross-account clone
# is marked, reads the source's data through the mount, and can be neither cloned nor shared
# again; deleting the share or removing the account ends it at once.
source "$(dirname "$0")/lib.sh"
t_init "$@"

UA="cfs-sa-$$" UB="cfs-sb-$$" UC="cfs-sc-$$"
A=111111111111 B=222222222222 C=333333333333
M="$T/mnt"
for u in "$UA" "$UB" "$UC"; do t_useradd "$u"; done
new_store "$T/store"
mount_store "$STORE" "$M"
ctl account create "$A" --user "$UA" >/dev/null
ctl account create "$B" --user "$UB" >/dev/null
ctl account create "$C" --user "$UC" >/dev/null
REGION="$(jc "$STORE" store info | jq -er .Region)"
arn() { echo "arn:clonefs:$REGION:$1:$2:$3"; }
head4() { run_as "$1" head -c 4 "$2"; }

step "account A makes a volume with data and a snapshot of it"
ctl_as "$UA" volume create db --size 8M
expect_ok
run_as "$UA" python3 -c 'import sys; open(sys.argv[1], "r+b").write(b"A" * (1 << 20))' "$M/volumes/db"
ctl_as "$UA" snapshot create db nightly
expect_ok
SNAP="$(arn "$A" snapshot nightly)" VOL="$(arn "$A" volume db)"

step "an unshared snapshot answers as a missing one"
ctl_as "$UB" volume restore "$SNAP" mine
unshared="$LAST"
expect_error SnapshotNotFound
ctl_as "$UB" volume restore "$(arn "$A" snapshot no-such)" mine
like_missing "$unshared" nightly

step "the restore attribute: refusals change nothing"
ctl_as "$UB" snapshot attribute modify "$SNAP" --attribute restore --add "$B"
expect_error SnapshotNotFound  # only the owner may share it, and it is not B's to see
ctl_as "$UA" snapshot attribute modify nightly --attribute restore --add 999999999999
expect_error AccountNotFound
ctl_as "$UA" snapshot attribute modify nightly --attribute restore --add 1234567890123
expect_error InvalidParameterValue
ctl_as "$UA" snapshot attribute modify nightly --attribute restore --add "$B" --remove "$B"
expect_error InvalidParameterCombination
ctl_as "$UA" snapshot attribute modify nightly --attribute restore --add "$A"
expect_error InvalidParameterValue
ctl_as "$UA" --json snapshot attribute show nightly
expect_ok
jq -e '.SnapshotAttributesResult.SnapshotAttributes[0].AttributeValues == []' "$LAST.o" >/dev/null ||
  fail "a refused change shared the snapshot: $(cat "$LAST.o")"

step "shared with B: B restores it, C still cannot"
ctl_as "$UA" snapshot attribute modify nightly --attribute restore --add "$B"
expect_ok
ctl_as "$UB" --json volume restore "$SNAP" mine
expect_ok
jq -e --arg b "$B" '.VolumeArn | contains(":" + $b + ":volume:mine")' "$LAST.o" >/dev/null ||
  fail "B's restore is not B's: $(cat "$LAST.o")"
[[ "$(head4 "$UB" "$M/volumes/mine")" == AAAA ]] || fail "B's restored volume reads $(head4 "$UB" "$M/volumes/mine")"
ctl_as "$UC" volume restore "$SNAP" theirs
expect_error SnapshotNotFound
ctl_as "$UB" snapshot copy "$SNAP" bcopy --copy-tags
expect_error InvalidParameterCombination
ctl_as "$UB" --json snapshot copy "$SNAP" bcopy --wait
expect_ok
jq -e --arg s "$SNAP" '.SourceSnapshotArn == $s and .SnapshotType == "manual"' "$LAST.o" >/dev/null ||
  fail "B's copy: $(cat "$LAST.o")"
[[ "$(head4 "$UB" "$M/snapshots/bcopy")" == AAAA ]] || fail "B's copy reads $(head4 "$UB" "$M/snapshots/bcopy")"
ctl_as "$UC" snapshot copy "$SNAP" ccopy
expect_error SnapshotNotFound
ctl_as "$UB" snapshot delete bcopy
expect_ok
ctl_as "$UB" --json snapshot list
jq -e '.Snapshots == []' "$LAST.o" >/dev/null || fail "B's own list shows another's: $(cat "$LAST.o")"
ctl_as "$UB" --json snapshot list --include-shared
jq -e --arg s "$SNAP" '.Snapshots | length == 1 and .[0].SnapshotArn == $s and .[0].SnapshotType == "shared" and .[0].TagList == []' "$LAST.o" >/dev/null ||
  fail "B's --include-shared: $(cat "$LAST.o")"
ctl_as "$UC" --json snapshot list --include-shared --include-public
jq -e '.Snapshots == []' "$LAST.o" >/dev/null || fail "C sees: $(cat "$LAST.o")"
ctl_as "$UA" snapshot attribute modify nightly --attribute restore --add all
expect_ok
ctl_as "$UC" --json snapshot list --include-public
jq -e '.Snapshots | length == 1 and .[0].SnapshotType == "public"' "$LAST.o" >/dev/null || fail "C's --include-public: $(cat "$LAST.o")"
ctl_as "$UC" --json snapshot list --include-shared
jq -e '.Snapshots == []' "$LAST.o" >/dev/null || fail "a public snapshot shows as shared: $(cat "$LAST.o")"
ctl_as "$UA" snapshot attribute modify nightly --attribute restore --remove all
expect_ok
ctl_as "$UA" snapshot attribute modify nightly --attribute restore --remove "$B"
expect_ok
ctl_as "$UB" volume restore "$SNAP" again
expect_error SnapshotNotFound
[[ "$(head4 "$UB" "$M/volumes/mine")" == AAAA ]] || fail "B's restored volume changed when sharing ended"

step "a resource share: nothing before the invitation is accepted"
ctl_as "$UB" volume clone "$VOL" c1
pending="$LAST"
expect_error VolumeNotFound
ctl_as "$UB" volume clone "$(arn "$A" volume no-such)" c1
like_missing "$pending" db
ctl_as "$UA" share create qa --resource db --principal "$B" --principal "$B"
expect_error InvalidParameterValue
ctl_as "$UA" share create qa --resource db --principal "$A"
expect_error InvalidParameterValue
ctl_as "$UA" --json share create qa --resource db --principal "$B"
expect_ok
ctl_as "$UA" share create qa --resource db --principal "$C"
expect_error ShareAlreadyExists
ctl_as "$UB" volume clone "$VOL" c1
same_output "$pending" "$LAST"
ctl_as "$UA" --json share principals --resource db
jq -e --arg b "$B" '.Principals == [.Principals[0]] and .Principals[0].Id == $b and .Principals[0].Status == "associating"' "$LAST.o" >/dev/null ||
  fail "principals before acceptance: $(cat "$LAST.o")"
ctl_as "$UB" --json invitation list --status pending
expect_ok
INV="$(jq -er '.ResourceShareInvitations[0].ResourceShareInvitationArn' "$LAST.o")"
jq -e --arg a "$A" '.ResourceShareInvitations[0].SenderAccountId == $a' "$LAST.o" >/dev/null || fail "invitation: $(cat "$LAST.o")"
ctl_as "$UC" invitation accept "${INV##*:}"
expect_error InvitationNotFound  # another account's invitation is not there for C

step "accepted: B clones the volume across accounts"
ctl_as "$UB" invitation accept "$INV"
expect_ok
ctl_as "$UB" invitation accept "$INV"
expect_error InvitationAlreadyAccepted
ctl_as "$UA" --json share principals --resource db
jq -e '.Principals[0].Status == "associated"' "$LAST.o" >/dev/null || fail "principal after acceptance: $(cat "$LAST.o")"
ctl_as "$UB" volume clone "$VOL" c1 --full-copy
expect_error InvalidParameterCombination
ctl_as "$UB" --json volume clone "$VOL" c1
expect_ok
jq -e '.CrossAccountClone == true' "$LAST.o" >/dev/null || fail "the clone is not marked: $(cat "$LAST.o")"
[[ "$(head4 "$UB" "$M/volumes/c1")" == AAAA ]] || fail "B's clone reads $(head4 "$UB" "$M/volumes/c1")"
run_as "$UB" python3 -c 'import sys; open(sys.argv[1], "r+b").write(b"B" * 4096)' "$M/volumes/c1"
[[ "$(head4 "$UA" "$M/volumes/db")" == AAAA ]] || fail "B's write reached A's volume"
ctl_as "$UB" volume clone c1 c2
expect_error InvalidVolumeState
ctl_as "$UB" share create again --resource c1 --principal "$C"
expect_error InvalidVolumeState
ctl_as "$UC" volume clone "$VOL" c3
expect_error VolumeNotFound
ctl_as "$UA" --json volume show db
jq -e '.CrossAccountClone == false' "$LAST.o" >/dev/null || fail "the source shows as a cross-account clone"
ctl_as "$UB" --json volume list --include-shared
jq -e --arg v "$VOL" --arg a "$A" '[.Volumes[] | select(.Shared == true)] == [{"VolumeIdentifier": "db", "VolumeArn": $v, "OwnerAccountId": $a, "SizeBytes": 8388608, "PageSize": 4096, "Compression": "none", "StorageEncrypted": false, "Shared": true}]' "$LAST.o" >/dev/null ||
  fail "B's --include-shared volume list: $(cat "$LAST.o")"
ctl_as "$UC" --json volume list --include-shared
jq -e '.Volumes == []' "$LAST.o" >/dev/null || fail "C sees volumes: $(cat "$LAST.o")"
ctl_as "$UB" volume list --include-shared
expect_ok
grep -q "shared by $A" "$LAST.o" || fail "the text list does not say who shares it: $(cat "$LAST.o")"

step "deleting the share ends it at once; B's clone stays B's"
ctl_as "$UA" share delete qa
expect_ok
ctl_as "$UA" share delete qa
expect_error ShareNotFound
ctl_as "$UB" volume clone "$VOL" c4
same_output "$pending" "$LAST"
[[ "$(head4 "$UB" "$M/volumes/c1")" == BBBB ]] || fail "B's clone changed when the share went"
ctl_as "$UB" --json volume list
jq -e '[.Volumes[].VolumeIdentifier] | sort == ["c1", "mine"]' "$LAST.o" >/dev/null || fail "B lists: $(cat "$LAST.o")"

step "a share of a volume deleted through the mount is gone from every list"
ctl_as "$UA" volume create tmp --size 4M
expect_ok
ctl_as "$UA" share create tmp-share --resource tmp --principal "$C"
expect_ok
ctl_as "$UC" --json invitation list
jq -e '.ResourceShareInvitations | length == 1' "$LAST.o" >/dev/null || fail "C's invitation: $(cat "$LAST.o")"
run_as "$UA" rm "$M/volumes/tmp"
ctl_as "$UA" --json share list
jq -e '.ResourceShares == []' "$LAST.o" >/dev/null || fail "a deleted volume's share is listed: $(cat "$LAST.o")"
ctl_as "$UC" --json invitation list
jq -e '.ResourceShareInvitations == []' "$LAST.o" >/dev/null || fail "a deleted volume's invitation: $(cat "$LAST.o")"
ctl_as "$UA" volume create tmp --size 4M
expect_ok
ctl_as "$UA" --json share list
jq -e '.ResourceShares == []' "$LAST.o" >/dev/null || fail "a new tmp inherited the old share: $(cat "$LAST.o")"

step "encrypted and shared: the key's policy decides, and the refusal names the key and what to grant"
ctl_as "$UA" --json key create --alias ka
expect_ok
KA="$(jq -er .Arn "$LAST.o")"
ctl_as "$UA" volume create sec --size 8M --kms-key ka
expect_ok
run_as "$UA" python3 -c 'import sys; open(sys.argv[1], "r+b").write(b"S" * (1 << 20))' "$M/volumes/sec"
ctl_as "$UA" snapshot create sec secsnap
expect_ok
ctl_as "$UA" snapshot attribute modify secsnap --attribute restore --add "$B"
expect_ok
ESNAP="$(arn "$A" snapshot secsnap)"
ctl_as "$UB" key show "$KA"
unshared="$LAST"
expect_error NotFoundException
ctl_as "$UB" key show "${KA%:*}:key-00000000000000aa"
sed "s/key-00000000000000aa/${KA##*:}/" "$LAST.e" | cmp -s - "$unshared.e" || fail "A's key is visible to B: $(cat "$unshared.e")"
ctl_as "$UB" volume restore "$ESNAP" emine
expect_error KMSKeyNotAccessible
grep -qF "$KA" "$LAST.e" && grep -q "Decrypt" "$LAST.e" && grep -q "$B" "$LAST.e" ||
  fail "the refusal does not say which key and grant: $(cat "$LAST.e")"
ctl_as "$UA" key policy put ka --policy "{\"accounts\": {\"$B\": [\"Decrypt\"]}}"
expect_ok
ctl_as "$UB" volume restore "$ESNAP" emine
expect_error KMSKeyNotAccessible  # keeping A's key would need ReEncrypt on it
grep -q "ReEncrypt" "$LAST.e" || fail "$(cat "$LAST.e")"
ctl_as "$UB" --json key create --alias kb
expect_ok
ctl_as "$UB" --json volume restore "$ESNAP" emine --kms-key kb
expect_ok
jq -e --arg b "$B" '.StorageEncrypted == true and (.KmsKeyId | contains(":" + $b + ":key:"))' "$LAST.o" >/dev/null ||
  fail "B's restore is not under B's key: $(cat "$LAST.o")"
[[ "$(head4 "$UB" "$M/volumes/emine")" == SSSS ]] || fail "B's encrypted restore reads $(head4 "$UB" "$M/volumes/emine")"
ctl_as "$UB" --json snapshot copy "$ESNAP" ecopy --kms-key kb --wait
expect_ok
jq -e '.StorageEncrypted == true' "$LAST.o" >/dev/null || fail "B's copy is not encrypted: $(cat "$LAST.o")"
[[ "$(head4 "$UB" "$M/snapshots/ecopy")" == SSSS ]] || fail "B's encrypted copy reads $(head4 "$UB" "$M/snapshots/ecopy")"
ctl_as "$UA" share create esh --resource sec --principal "$B"
expect_ok
ctl_as "$UB" --json invitation list --status pending
expect_ok
ctl_as "$UB" invitation accept "$(jq -er '.ResourceShareInvitations[0].ResourceShareInvitationArn' "$LAST.o")"
expect_ok
ctl_as "$UB" --json volume clone "$(arn "$A" volume sec)" eclone --kms-key kb
expect_ok
jq -e --arg b "$B" '.CrossAccountClone == true and .StorageEncrypted == true and (.KmsKeyId | contains(":" + $b + ":key:"))' "$LAST.o" >/dev/null ||
  fail "B's encrypted clone: $(cat "$LAST.o")"
[[ "$(head4 "$UB" "$M/volumes/eclone")" == SSSS ]] || fail "B's encrypted clone reads $(head4 "$UB" "$M/volumes/eclone")"
ctl_as "$UA" key policy put ka --policy '{"accounts": {}}'
expect_ok
ctl_as "$UB" volume restore "$ESNAP" again --kms-key kb
expect_error KMSKeyNotAccessible
ctl_as "$UA" volume create dsec --size 1M --encrypted
expect_ok
ctl_as "$UA" share create dsh --resource dsec --principal "$B"
expect_error InvalidParameterCombination  # under A's default key: never usable by B
[[ "$(head4 "$UB" "$M/volumes/emine")" == SSSS ]] || fail "B's restore under its own key stopped reading"
ctl_as "$UA" share delete esh
expect_ok

step "a restart keeps what is shared and what was accepted"
unmount_store "$STORE" "$M"
mount_store "$STORE" "$M"
ctl_as "$UA" --json share list
jq -e '.ResourceShares == []' "$LAST.o" >/dev/null || fail "a deleted share came back: $(cat "$LAST.o")"
ctl_as "$UB" --json volume show c1
jq -e '.CrossAccountClone == true' "$LAST.o" >/dev/null || fail "the clone lost its mark on restart"
[[ "$(head4 "$UB" "$M/volumes/eclone")" == SSSS ]] || fail "B's encrypted clone reads $(head4 "$UB" "$M/volumes/eclone") after a restart"
ctl_as "$UB" invitation list
expect_ok
log "PASSED"
