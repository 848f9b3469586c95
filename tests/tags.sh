#!/usr/bin/env bash
# Tags of volumes, snapshots and KMS keys through the CLI, as real Unix users against a running
# daemon: tag add/list/remove by ARN, --tag at creation, --copy-tags on clone and restore, the
# rules (50 per resource, lengths, characters, reserved prefixes; a refusal changes nothing),
# and what other accounts see: an unshared resource's ARN answers byte for byte as one that
# does not exist, a shared one is visible but its tags are neither shown nor changeable.
source "$(dirname "$0")/lib.sh"
t_init "$@"

UA="cfs-ta-$$" UB="cfs-tb-$$"
A=111111111111 B=222222222222
M="$T/mnt"
for u in "$UA" "$UB"; do t_useradd "$u"; done
new_store "$T/store"
mount_store "$STORE" "$M"
ctl account create "$A" --user "$UA" >/dev/null
ctl account create "$B" --user "$UB" >/dev/null
REGION="$(jc "$STORE" store info | jq -er .Region)"
OWNER="$(jc "$STORE" store info | jq -er .AccountId)"
arn() { echo "arn:clonefs:$REGION:$1:$2:$3"; }
# tags_are JSON: the last run succeeded and printed (--json) exactly this TagList.
tags_are() {
  expect_ok
  jq -e --argjson want "$1" '.TagList == $want' "$LAST.o" >/dev/null ||
    fail "expected TagList $1, got: $(cat "$LAST.o")"
}

step "tags on volumes, snapshots and keys: add, overwrite, list, remove"
ctl_as "$UA" volume create db --size 8M
expect_ok
ctl_as "$UA" snapshot create db nightly
expect_ok
VOL="$(arn "$A" volume db)" SNAP="$(arn "$A" snapshot nightly)"
ctl_as root --json key create --alias tagged
expect_ok
KEY="$(jq -er .Arn "$LAST.o")"
for R in "$VOL" "$SNAP"; do
  ctl_as "$UA" --json tag list "$R"
  tags_are '[]'
  ctl_as "$UA" --json tag add "$R" env=prod team=dba
  tags_are '[{"Key":"env","Value":"prod"},{"Key":"team","Value":"dba"}]'
  ctl_as "$UA" --json tag add "$R" env=test "note=a b=c"
  tags_are '[{"Key":"env","Value":"test"},{"Key":"team","Value":"dba"},{"Key":"note","Value":"a b=c"}]'
  ctl_as "$UA" --json tag remove "$R" team absent
  tags_are '[{"Key":"env","Value":"test"},{"Key":"note","Value":"a b=c"}]'
done
ctl_as root --json tag add "$KEY" env=prod owner=ops
tags_are '[{"Key":"env","Value":"prod"},{"Key":"owner","Value":"ops"}]'
ctl_as root --json tag add "$KEY" owner=sec
tags_are '[{"Key":"env","Value":"prod"},{"Key":"owner","Value":"sec"}]'
ctl_as root --json tag remove "$KEY" env
tags_are '[{"Key":"owner","Value":"sec"}]'
ctl_as root tag list "$KEY"
expect_ok
printf 'KEY    VALUE\nowner  sec\n' | cmp -s - "$LAST.o" || fail "tag list text: $(cat "$LAST.o")"
ctl_as "$UA" --json volume show db
tags_are '[{"Key":"env","Value":"test"},{"Key":"note","Value":"a b=c"}]'
ctl_as "$UA" volume show db
grep -q '^Tags: *env=test, note=a b=c$' "$LAST.o" || fail "volume show text: $(cat "$LAST.o")"
ctl_as "$UA" --json snapshot show nightly
tags_are '[{"Key":"env","Value":"test"},{"Key":"note","Value":"a b=c"}]'

step "the rules: 50 per resource, lengths, characters, prefixes; refusals change nothing"
ctl_as "$UA" volume create full --size 4M
expect_ok
FULL="$(arn "$A" volume full)"
fifty=()
for i in $(seq 1 50); do fifty+=("k$i=v$i"); done
ctl_as "$UA" tag add "$FULL" "${fifty[@]}"
expect_ok
ctl_as "$UA" --json tag list "$FULL"
before="$LAST"
jq -e '.TagList | length == 50' "$before.o" >/dev/null || fail "50 tags: $(cat "$before.o")"
ctl_as "$UA" tag add "$FULL" k51=v51
expect_error TagQuotaPerResourceExceeded
ctl_as "$UA" tag add "$FULL" k1=changed k51=v51
expect_error TagQuotaPerResourceExceeded
long_key="$(printf 'k%.0s' $(seq 1 129))" long_value="$(printf 'v%.0s' $(seq 1 257))"
for bad in "$long_key=v" "k1=$long_value" "aws:name=v" "RDS:name=v" "clonefs:x=v" "k1=aws:v" \
  "a!b=v" "k1=semi;colon" "=v" "novalue"; do
  ctl_as "$UA" tag add "$FULL" "$bad"
  expect_error InvalidParameterValue
done
ctl_as "$UA" tag add "$FULL" "$(printf 'k%.0s' $(seq 1 128))=$(printf 'v%.0s' $(seq 1 256))"
expect_error TagQuotaPerResourceExceeded  # well formed, but a 51st
ctl_as "$UA" --json tag list "$FULL"
same_output "$before" "$LAST"
ctl_as "$UA" tag add "$FULL" k1=overwritten
expect_ok  # overwriting keeps it at 50
ctl_as "$UA" tag remove "$FULL" k50
expect_ok
ctl_as "$UA" tag add "$FULL" "$(printf 'k%.0s' $(seq 1 128))=$(printf 'v%.0s' $(seq 1 256))"
expect_ok
ctl_as "$UA" tag add "$FULL" "ключ=значение ٣"
expect_error TagQuotaPerResourceExceeded
ctl_as "$UA" tag remove "$FULL" k49
ctl_as "$UA" --json tag add "$FULL" "ключ=значение ٣"
expect_ok
jq -e '.TagList | length == 50 and .[0].Value == "overwritten" and .[49].Key == "ключ"' "$LAST.o" >/dev/null ||
  fail "after the changes: $(cat "$LAST.o")"

step "malformed ARNs, other regions, other types are InvalidParameterValue"
for bad in db "arn:clonefs:$REGION:$A:volume" "arn:aws:$REGION:$A:volume:db" "arn:clonefs:$REGION:12345:volume:db" \
  "arn:clonefs:elsewhere-1:$A:volume:db" "arn:clonefs:$REGION:$A:table:db" "arn:clonefs:$REGION:$A:resource-share:db"; do
  ctl_as "$UA" tag list "$bad"
  expect_error InvalidParameterValue
  ctl_as "$UA" tag add "$bad" a=b
  expect_error InvalidParameterValue
done
ctl_as "$UA" tag list "$(arn 999999999999 volume db)"
expect_error VolumeNotFound  # an unknown account has nothing
ctl_as "$UA" tag list "$(arn "$A" volume no-such)"
expect_error VolumeNotFound
ctl_as "$UA" tag list "$(arn "$A" snapshot no-such)"
expect_error SnapshotNotFound
ctl_as root tag list "$(arn "$OWNER" key key-0123456789abcdef)"
expect_error NotFoundException

step "--tag at creation"
ctl_as "$UA" --json volume create t1 --size 4M --tag env=prod --tag team=a
tags_are '[{"Key":"env","Value":"prod"},{"Key":"team","Value":"a"}]'
ctl_as "$UA" volume create t2 --size 4M --tag aws:x=1
expect_error InvalidParameterValue
ctl_as "$UA" volume show t2
expect_error VolumeNotFound  # nothing was made
ctl_as "$UA" --json snapshot create t1 s1 --tag snap=1
tags_are '[{"Key":"snap","Value":"1"}]'
ctl_as "$UA" --json volume clone t1 c1 --tag clone=1
tags_are '[{"Key":"clone","Value":"1"}]'
ctl_as "$UA" --json volume restore s1 r1 --tag restored=1
tags_are '[{"Key":"restored","Value":"1"}]'
ctl_as root --json key create --alias k2 --tag env=prod
expect_ok
K2="$(jq -er .Arn "$LAST.o")"
ctl_as root --json tag list "$K2"
tags_are '[{"Key":"env","Value":"prod"}]'
ctl_as root key create --alias k3 --tag rds:x=1
expect_error InvalidParameterValue
ctl_as root key show k3
expect_error NotFoundException  # nothing was made

step "--copy-tags on clone and restore"
ctl_as "$UA" --json volume clone t1 c2
tags_are '[]'
ctl_as "$UA" --json volume clone t1 c3 --copy-tags
tags_are '[{"Key":"env","Value":"prod"},{"Key":"team","Value":"a"}]'
ctl_as "$UA" --json volume clone t1 c4 --copy-tags --tag team=b --tag x=y
tags_are '[{"Key":"env","Value":"prod"},{"Key":"team","Value":"b"},{"Key":"x","Value":"y"}]'
ctl_as "$UA" --json volume clone t1 c5 --copy-tags --full-copy
tags_are '[{"Key":"env","Value":"prod"},{"Key":"team","Value":"a"}]'
ctl_as "$UA" --json volume restore s1 r2
tags_are '[]'
ctl_as "$UA" --json volume restore s1 r3 --copy-tags
tags_are '[{"Key":"snap","Value":"1"}]'
ctl_as "$UA" --json volume restore s1 r4 --copy-tags --tag snap=2 --full-copy
tags_are '[{"Key":"snap","Value":"2"}]'

step "another account: an unshared ARN answers as a missing one, byte for byte"
ctl_as "$UA" volume create gone --size 4M --tag a=b
expect_ok
GONE="$(arn "$A" volume gone)"
# hidden_as_missing CODE ARN NAME: B's tag add, list and remove of ARN fail with CODE, exactly as
# they do for the ARN with "no-such" in place of NAME.
hidden_as_missing() {
  local cmd
  for cmd in "tag add $2 x=y" "tag list $2" "tag remove $2 a"; do
    # shellcheck disable=SC2086
    ctl_as "$UB" $cmd
    hidden="$LAST"
    expect_error "$1"
    # shellcheck disable=SC2086
    ctl_as "$UB" ${cmd/$3/no-such}
    like_missing "$hidden" "$3"
  done
}
hidden_as_missing VolumeNotFound "$GONE" gone
ctl_as "$UB" tag add "$GONE" x=y
hidden_add="$LAST"
ctl_as "$UB" tag list "$GONE"
hidden_list="$LAST"
ctl_as "$UB" tag remove "$GONE" a
hidden_remove="$LAST"
ctl_as "$UA" --json tag list "$GONE"
tags_are '[{"Key":"a","Value":"b"}]'  # B changed nothing
ctl_as "$UA" volume delete gone
expect_ok
ctl_as "$UB" tag add "$GONE" x=y
same_output "$hidden_add" "$LAST"
ctl_as "$UB" tag list "$GONE"
same_output "$hidden_list" "$LAST"
ctl_as "$UB" tag remove "$GONE" a
same_output "$hidden_remove" "$LAST"
hidden_as_missing SnapshotNotFound "$SNAP" nightly
ctl_as "$UB" tag list "$KEY"
hidden="$LAST"
expect_error NotFoundException
ctl_as "$UB" tag list "$(arn "$OWNER" key key-0123456789abcdef)"
sed "s/key-0123456789abcdef/${KEY##*:}/" "$LAST.e" | cmp -s - "$hidden.e" || fail "key: $(cat "$hidden.e") | $(cat "$LAST.e")"
ctl_as "$UB" tag add "$KEY" a=b
expect_error NotFoundException
# Each account tags its own keys, which no other account sees.
ctl_as "$UB" --json key create --alias bkey --tag team=b
expect_ok
BKEY="$(jq -er .Arn "$LAST.o")"
ctl_as "$UB" --json tag add "$BKEY" env=dev
tags_are '[{"Key":"team","Value":"b"},{"Key":"env","Value":"dev"}]'
ctl_as "$UA" tag list "$BKEY"
expect_error NotFoundException
ctl_as root tag add "$BKEY" x=y
expect_error NotFoundException

step "shared with B: visible, but the tags are the owner's"
ctl_as "$UA" snapshot attribute modify nightly --attribute restore --add "$B"
expect_ok
ctl_as "$UB" tag add "$SNAP" x=y
expect_error AccessDenied
ctl_as "$UB" tag remove "$SNAP" env
expect_error AccessDenied
ctl_as "$UB" --json tag list "$SNAP"
tags_are '[]'
ctl_as "$UB" volume restore "$SNAP" mine --copy-tags
expect_error InvalidParameterCombination
ctl_as "$UB" --json volume restore "$SNAP" mine --tag mine=1
tags_are '[{"Key":"mine","Value":"1"}]'
ctl_as "$UA" share create qa --resource db --principal "$B"
expect_ok
ctl_as "$UB" --json invitation list --status pending
INV="$(jq -er '.ResourceShareInvitations[0].ResourceShareInvitationArn' "$LAST.o")"
ctl_as "$UB" invitation accept "$INV"
expect_ok
ctl_as "$UB" --json volume list --include-shared
jq -e '[.Volumes[] | select(.Shared == true)] | length == 1 and (.[0] | has("TagList") | not)' "$LAST.o" >/dev/null ||
  fail "the shared view shows tags: $(cat "$LAST.o")"
ctl_as "$UB" tag add "$VOL" x=y
expect_error AccessDenied
ctl_as "$UB" --json tag list "$VOL"
tags_are '[]'
ctl_as "$UB" volume clone "$VOL" bclone --copy-tags
expect_error InvalidParameterCombination
ctl_as "$UB" --json volume clone "$VOL" bclone --tag b=1
tags_are '[{"Key":"b","Value":"1"}]'
ctl_as "$UA" --json tag list "$VOL"
tags_are '[{"Key":"env","Value":"test"},{"Key":"note","Value":"a b=c"}]'

step "a restart keeps every tag"
unmount_store "$STORE" "$M"
mount_store "$STORE" "$M"
ctl_as "$UA" --json tag list "$VOL"
tags_are '[{"Key":"env","Value":"test"},{"Key":"note","Value":"a b=c"}]'
ctl_as "$UA" --json tag list "$SNAP"
tags_are '[{"Key":"env","Value":"test"},{"Key":"note","Value":"a b=c"}]'
ctl_as root --json tag list "$KEY"
tags_are '[{"Key":"owner","Value":"sec"}]'
ctl_as "$UA" --json tag list "$FULL"
jq -e '.TagList | length == 50' "$LAST.o" >/dev/null || fail "after restart: $(cat "$LAST.o")"
log "PASSED"
