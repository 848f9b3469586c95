#!/usr/bin/env bash
# Accounts through the CLI, as real Unix users against a running daemon: a user without an
# account is told what to ask for; two accounts both own a volume db1 and see only their own;
# another account's ARN answers byte for byte as one that does not exist; only root may act as
# another account; malformed ids and ARNs are clear errors that change nothing; one user at its
# connection limit does not starve the others.
source "$(dirname "$0")/lib.sh"
t_init "$@"

UA="cfs-a-$$"  # account A
UB="cfs-b-$$"  # account B
UC="cfs-c-$$"  # no account
A=012345678901
B=222222222222
for u in "$UA" "$UB" "$UC"; do t_useradd "$u"; done

new_store "$T/store"
MOUNT_OPTS="max_connections_per_uid=3" mount_store "$STORE" "$T/mnt"
REGION="$(jc "$STORE" store info | jq -er .Region)"
OWNER="$(jc "$STORE" store info | jq -er .AccountId)"
arn() { echo "arn:clonefs:$REGION:$1:$2:$3"; }

step "the socket lets every user in, and a user without an account is told what to ask for"
[[ "$(stat -c %a "$STORE/control.sock")" == 666 ]] || fail "control.sock is not mode 0666"
[[ "$(stat -c %a "$STORE/meta")" == 700 ]] || fail "the store's metadata is readable by others"
ctl_as "$UC" --help
expect_ok
grep -q "account" "$LAST.o" || fail "--help does not list the account commands"
ctl_as "$UC" volume list
expect_error AccessDenied
uid_c="$(id -u "$UC")"
want="clonectl: AccessDenied: Unix user '$UC' (uid $uid_c) has no clonefs account in the store $STORE; ask the store owner to run: clonectl account create ACCOUNT_ID --user $UC"
[[ "$(cat "$LAST.e")" == "$want" ]] || fail "unexpected message: $(cat "$LAST.e")"

step "the store owner creates accounts; nobody else may"
ctl_as "$UC" account create "$A" --user "$UC"
expect_error AccessDenied
jc "$STORE" account create "$A" --user "$UA" | jq -e --arg a "$A" '.AccountId == $a' >/dev/null
ctl account create "$B" --user "$UB" >/dev/null || fail "account create $B failed"
ctl_as "$UA" account create 333333333333 --user "$UC"
expect_error AccessDenied
[[ "$(jc "$STORE" account list | jq '.Accounts | length')" == 3 ]] || fail "expected 3 accounts"
ctl_as "$UA" --json account list
expect_ok
jq -e --arg a "$A" '.Accounts | length == 1 and .[0].AccountId == $a' "$LAST.o" >/dev/null ||
  fail "A's account list shows more than A: $(cat "$LAST.o")"
ctl_as "$UA" account show "$B"
cp "$LAST.e" "$T/show-b.e"
expect_error AccountNotFound
ctl_as "$UA" account show 999999999999
expect_error AccountNotFound
sed "s/999999999999/$B/" "$LAST.e" | cmp -s - "$T/show-b.e" || fail "another account's show differs from an unknown one's"

step "malformed ids, unknown users and taken users change nothing"
for bad in 0123456789012 01234567890 01234567890a +12345678901 "1234 5678901"; do
  ctl_as root account create "$bad" --user "$UC"
  expect_error InvalidParameterValue
done
rc=0
ctl account create "$A" --user "$UC" >/dev/null 2>"$T/dup.e" || rc=$?
((rc == 1)) && grep -q AccountAlreadyExists "$T/dup.e" || fail "a taken id was not AccountAlreadyExists"
ctl account create 333333333333 --user "no-such-user-$$" >/dev/null 2>"$T/nouser.e" && fail "an unknown user was accepted"
grep -q InvalidParameterValue "$T/nouser.e" || fail "an unknown user: $(cat "$T/nouser.e")"
ctl account create 333333333333 --user "$UA" >/dev/null 2>"$T/taken.e" && fail "a user of A was given to another account"
grep -q "already belongs to account $A" "$T/taken.e" || fail "a taken user: $(cat "$T/taken.e")"
[[ "$(jc "$STORE" account list | jq '.Accounts | length')" == 3 ]] || fail "a refused create changed the accounts"

step "two accounts both own db1, and each sees only its own"
ctl_as "$UA" volume create db1 --size 16M
expect_ok
ctl_as "$UB" volume create db1 --size 32M
expect_ok
ctl_as "$UA" snapshot create db1 s1
expect_ok
ctl_as "$UB" snapshot create db1 s1
expect_ok
for who in A B; do
  user="U$who"
  id="${!who}"
  ctl_as "${!user}" --json volume list
  expect_ok
  jq -e --arg arn "$(arn "$id" volume db1)" \
    '.Volumes | length == 1 and .[0].VolumeIdentifier == "db1" and .[0].VolumeArn == $arn' "$LAST.o" \
    >/dev/null || fail "$who's volume list: $(cat "$LAST.o")"
  ctl_as "${!user}" --json snapshot list
  jq -e --arg arn "$(arn "$id" snapshot s1)" '.Snapshots | length == 1 and .[0].SnapshotArn == $arn' \
    "$LAST.o" >/dev/null || fail "$who's snapshot list: $(cat "$LAST.o")"
done
[[ "$(jc "$STORE" volume list | jq '.Volumes | length')" == 0 ]] || fail "the owner sees other accounts' volumes"
ctl_as "$UA" --json volume show db1
jq -e '.SizeBytes == 16777216' "$LAST.o" >/dev/null || fail "A's db1 is not A's"

step "another account's ARN answers byte for byte as one that does not exist"
B_DB1="$(arn "$B" volume db1)"
B_S1="$(arn "$B" snapshot s1)"
declare -a CASES=(
  "volume show $B_DB1"
  "--json volume show $B_DB1"
  "volume clone $B_DB1 c1"
  "volume delete $B_DB1"
  "snapshot create $B_DB1 x1"
  "snapshot show $B_S1"
  "--json snapshot show $B_S1"
  "volume restore $B_S1 r1"
  "snapshot copy $B_S1 k1"
  "snapshot delete $B_S1"
)
declare -a SEEN=()
for c in "${CASES[@]}"; do
  # shellcheck disable=SC2086 # each case is a word list
  ctl_as "$UA" $c
  [[ "$(cat "$LAST.rc")" == 1 ]] || fail "A's '$c' on B's resource did not fail"
  SEEN+=("$LAST")
done
# Now make them not exist at all, and ask again.
ctl_as "$UB" snapshot delete s1
expect_ok
ctl_as "$UB" volume delete db1
expect_ok
i=0
for c in "${CASES[@]}"; do
  # shellcheck disable=SC2086
  ctl_as "$UA" $c
  same_output "${SEEN[$i]}" "$LAST"
  i=$((i + 1))
done
grep -q "^clonectl: VolumeNotFound: volume '$B_DB1' does not exist$" "${SEEN[0]}.e" ||
  fail "the message does not echo the ARN as typed: $(cat "${SEEN[0]}.e")"
# And a typed name never reaches another account's store name.
ctl_as "$UB" volume create db2 --size 1M
expect_ok
ctl volume show "$B.db2" >/dev/null 2>"$T/q.e" && fail "the owner reached B's volume by its store name"
grep -q VolumeNotFound "$T/q.e" || fail "$(cat "$T/q.e")"
ctl_as "$UA" --json volume list
jq -e '.Volumes | length == 1' "$LAST.o" >/dev/null || fail "A's volumes changed"

step "only root may act as another account"
ctl_as "$UA" --account "$A" volume list
expect_error AccessDenied
grep -q "only root may act as another account" "$LAST.e" || fail "$(cat "$LAST.e")"
ctl_as "$UA" --account "$B" volume list
expect_error AccessDenied
out="$(ctl --json --account "$A" volume list)" || fail "root --account $A failed"
jq -e --arg arn "$(arn "$A" volume db1)" '.Volumes | length == 1 and .[0].VolumeArn == $arn' \
  <<<"$out" >/dev/null || fail "root acting as A: $out"
ctl --account "$A" volume create made-by-root --size 1M >/dev/null || fail "root could not create as A"
ctl_as "$UA" --json volume show made-by-root
expect_ok
ctl --account 999999999999 volume list >/dev/null 2>"$T/u.e" && fail "an unknown --account was accepted"
grep -q AccountNotFound "$T/u.e" || fail "$(cat "$T/u.e")"
ctl --account 0123456789012 volume list >/dev/null 2>"$T/m.e" && fail "a 13-digit --account was accepted"
grep -q InvalidParameterValue "$T/m.e" || fail "$(cat "$T/m.e")"

step "malformed ARNs are clear errors that change nothing"
for bad in "arn:clonefs:$REGION:0123456789012:volume:db1" "arn:clonefs:$REGION:$A:volume" \
  "arn:aws:$REGION:$A:volume:db1" "arn:clonefs:$REGION:$A:table:db1" \
  "arn:clonefs:$REGION:$A:snapshot:db1"; do
  ctl_as "$UA" volume delete "$bad"
  expect_error InvalidParameterValue
done
ctl_as "$UA" volume show "$(arn "$A" volume db1)"
expect_ok

step "each account has its own keys, aliases and default key"
ctl_as "$UA" --json key create --alias k
expect_ok
jq -e --arg a "$A" '.Arn | contains(":" + $a + ":key:")' "$LAST.o" >/dev/null || fail "A's key: $(cat "$LAST.o")"
ctl_as "$UB" --json key create --alias k
expect_ok
ctl_as "$UA" --json volume create e1 --size 1M --kms-key k
expect_ok
jq -e --arg a "$A" '.StorageEncrypted and (.KmsKeyId | contains(":" + $a + ":key:"))' "$LAST.o" >/dev/null ||
  fail "A's encrypted volume: $(cat "$LAST.o")"
ctl_as "$UB" --json volume create e1 --size 1M --encrypted
expect_ok
jq -e --arg b "$B" '.KmsKeyId | contains(":" + $b + ":key:")' "$LAST.o" >/dev/null || fail "B's default key: $(cat "$LAST.o")"
ctl_as "$UA" --json key list
jq -e '.Keys | length == 1' "$LAST.o" >/dev/null || fail "A sees keys not its own: $(cat "$LAST.o")"
ctl --json key list | jq -e '.Keys == []' >/dev/null || fail "the owner sees the accounts' keys"

step "a user at its connection limit does not starve the others"
hold="$T/hold.py"
cat >"$hold" <<'EOF'
import socket, sys, time
held = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    held.append(s)
print("held", flush=True)
time.sleep(120)
EOF
runuser -u "$UA" -- python3 "$hold" "$STORE/control.sock" 3 >"$T/hold.out" 2>"$T/hold.err" &
HOLDER=$!
for _ in $(seq 100); do
  grep -q held "$T/hold.out" 2>/dev/null && break
  sleep 0.1
done
grep -q held "$T/hold.out" || fail "the connection holder did not start"
sleep 0.5  # the daemon accepts them
ctl_as "$UA" volume list
expect_error StoreBusy
grep -q "max_connections_per_uid=3" "$LAST.e" || fail "StoreBusy does not name the per-user limit: $(cat "$LAST.e")"
ctl_as "$UB" volume list
expect_ok
ctl volume list >/dev/null || fail "root was starved"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null || true
ok=0
for _ in $(seq 50); do
  ctl_as "$UA" volume list
  if [[ "$(cat "$LAST.rc")" == 0 ]]; then
    ok=1
    break
  fi
  sleep 0.1
done
((ok)) || fail "A was not served again once its connections closed"

unmount_store "$STORE" "$T/mnt"
log "PASS"
