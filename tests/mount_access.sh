#!/usr/bin/env bash
# One mount, several accounts, real Unix users: each account sees only its own volumes and
# snapshots in the mount, under the names it gave them, owned by its user; another account's
# names are ENOENT on stat, open, create-over and unlink (never EACCES), also right after their
# owner looked them up (the kernel's caches are shared by all users); a user with no account
# sees empty directories and may create nothing; root acts as the store owner's account.
# Snapshots shared through their restore attribute (snapshot attribute modify) show read-only
# under shared/OWNER/snapshots/ for the accounts named (or for every account: "all"), and stop
# showing the moment they are unshared.
source "$(dirname "$0")/lib.sh"
t_init "$@"

M="$T/mnt"
UA="cfs-ma-$$" UB="cfs-mb-$$" UC="cfs-mc-$$"
A=111111111111 B=222222222222

# errno_of USER PATH FLAGS: "ok" or the errno name of open(PATH, FLAGS) as USER.
errno_of() {
  run_as "$1" python3 - "$2" "$3" <<'EOF'
import errno, os, sys
try:
    os.close(os.open(sys.argv[1], eval(sys.argv[2], {"os": os}), 0o600))
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
EOF
}
# stat_errno USER PATH: "ok" or the errno name of stat(PATH) as USER.
stat_errno() {
  run_as "$1" python3 -c '
import errno, os, sys
try:
    os.stat(sys.argv[1]); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])' "$2"
}
# fill USER PATH BYTE: writes 1 MiB of BYTE at the start of PATH as USER.
fill() { run_as "$1" python3 -c 'import sys; open(sys.argv[1], "r+b").write(sys.argv[2].encode() * (1 << 20))' "$2" "$3"; }
head4() { run_as "$1" head -c 4 "$2"; }
listing() { run_as "$1" ls -1 "$2" | tr '\n' ' '; }

step "two accounts with a user each, a user without one"
t_useradd "$UA"
t_useradd "$UB"
t_useradd "$UC"
new_store "$T/store"
mount_store "$T/store" "$M"
ctl account create "$A" --user "$UA" >/dev/null
ctl account create "$B" --user "$UB" >/dev/null
grep -q "allow_other" <(findmnt -rn -o OPTIONS -M "$M") || fail "the mount is not allow_other: $(findmnt -rn -o OPTIONS -M "$M")"

step "both accounts create db1 in the mount; each gets its own"
run_as "$UA" truncate -s 8M "$M/volumes/db1"
run_as "$UB" truncate -s 8M "$M/volumes/db1"
ctl volume create owned --size 8M >/dev/null
fill "$UA" "$M/volumes/db1" A
fill "$UB" "$M/volumes/db1" B
[[ "$(head4 "$UA" "$M/volumes/db1")" == AAAA ]] || fail "$UA reads $(head4 "$UA" "$M/volumes/db1") from its db1"
[[ "$(head4 "$UB" "$M/volumes/db1")" == BBBB ]] || fail "$UB reads $(head4 "$UB" "$M/volumes/db1") from its db1"
[[ "$(head4 "$UA" "$M/volumes/db1")" == AAAA ]] || fail "$UA's db1 changed after $UB used the same path"
[[ "$(listing "$UA" "$M/volumes")" == "db1 " ]] || fail "$UA lists: $(listing "$UA" "$M/volumes")"
[[ "$(listing "$UB" "$M/volumes")" == "db1 " ]] || fail "$UB lists: $(listing "$UB" "$M/volumes")"
[[ "$(ls -1 "$M/volumes" | tr '\n' ' ')" == "owned " ]] || fail "root lists: $(ls -1 "$M/volumes")"
[[ "$(run_as "$UA" stat -c '%u %a' "$M/volumes/db1")" == "$(id -u "$UA") 600" ]] ||
  fail "$UA's db1 shows $(run_as "$UA" stat -c '%u %a' "$M/volumes/db1")"
[[ "$(stat -c '%u' "$M/volumes/owned")" == "0" ]] || fail "the owner's volume shows uid $(stat -c %u "$M/volumes/owned")"
jc "$T/store" --account "$A" volume list | jq -e '.Volumes | map(.VolumeIdentifier) == ["db1"]' >/dev/null ||
  fail "clonectl --account $A does not list exactly db1"

step "another account's volume is ENOENT, even right after its owner looked it up"
run_as "$UA" truncate -s 4M "$M/volumes/only-a"
for who in "$UB" "$UC" root; do
  stat_errno "$UA" "$M/volumes/only-a" >/dev/null
  [[ "$(stat_errno "$who" "$M/volumes/only-a")" == ENOENT ]] || fail "stat by $who: $(stat_errno "$who" "$M/volumes/only-a")"
  [[ "$(errno_of "$who" "$M/volumes/only-a" os.O_RDONLY)" == ENOENT ]] || fail "open by $who: $(errno_of "$who" "$M/volumes/only-a" os.O_RDONLY)"
  out="$(run_as "$who" rm -f "$M/volumes/only-a" 2>&1 || true)"
  [[ "$(stat_errno "$UA" "$M/volumes/only-a")" == ok ]] || fail "rm by $who removed $UA's only-a: $out"
done
out="$(run_as "$UB" cat "$M/volumes/only-a" 2>&1 || true)"
[[ $out == *"No such file or directory"* ]] || fail "cat by $UB says: $out"
[[ "$(run_as "$UB" ls "$M/volumes")" != *only-a* ]] || fail "$UB lists only-a"
# O_CREAT of that name makes $UB's own volume; $UA's stays as it was.
[[ "$(errno_of "$UB" "$M/volumes/only-a" 'os.O_CREAT|os.O_EXCL|os.O_RDWR')" == ok ]] || fail "$UB cannot create its own only-a"
[[ "$(run_as "$UA" stat -c %s "$M/volumes/only-a")" == 4194304 ]] || fail "$UA's only-a changed when $UB created its own"

step "a user without an account sees nothing and creates nothing"
[[ -z "$(listing "$UC" "$M/volumes")" ]] || fail "$UC lists: $(listing "$UC" "$M/volumes")"
[[ "$(errno_of "$UC" "$M/volumes/new" 'os.O_CREAT|os.O_RDWR')" == EACCES ]] || fail "create by $UC: $(errno_of "$UC" "$M/volumes/new" 'os.O_CREAT|os.O_RDWR')"
[[ "$(stat_errno "$UC" "$M/volumes/owned")" == ENOENT ]] || fail "stat of owned by $UC"

step "snapshots: only their owner sees them"
ctl --account "$A" snapshot create db1 sa >/dev/null
ctl snapshot create owned so >/dev/null
[[ "$(listing "$UA" "$M/snapshots")" == "sa " ]] || fail "$UA lists snapshots: $(listing "$UA" "$M/snapshots")"
[[ -z "$(listing "$UB" "$M/snapshots")" ]] || fail "$UB lists snapshots: $(listing "$UB" "$M/snapshots")"
[[ "$(ls -1 "$M/snapshots" | tr '\n' ' ')" == "so " ]] || fail "root lists snapshots: $(ls -1 "$M/snapshots")"
[[ "$(head4 "$UA" "$M/snapshots/sa")" == AAAA ]] || fail "$UA's snapshot reads $(head4 "$UA" "$M/snapshots/sa")"
[[ "$(run_as "$UA" stat -c '%u %a' "$M/snapshots/sa")" == "$(id -u "$UA") 400" ]] || fail "sa shows $(run_as "$UA" stat -c '%u %a' "$M/snapshots/sa")"
[[ "$(errno_of "$UA" "$M/snapshots/sa" os.O_RDWR)" == EROFS ]] || fail "$UA opened its snapshot for writing"
for who in "$UB" "$UC" root; do
  [[ "$(stat_errno "$who" "$M/snapshots/sa")" == ENOENT ]] || fail "stat of sa by $who: $(stat_errno "$who" "$M/snapshots/sa")"
  run_as "$who" rm -f "$M/snapshots/sa" 2>/dev/null || true
done
[[ "$(stat_errno "$UA" "$M/snapshots/sa")" == ok ]] || fail "another user's rm deleted sa"
run_as "$UA" rm "$M/snapshots/sa"
[[ "$(stat_errno "$UA" "$M/snapshots/sa")" == ENOENT ]] || fail "$UA could not delete its snapshot through the mount"

step "a snapshot shared by its restore attribute shows read-only under shared/OWNER/snapshots"
ctl --account "$A" snapshot create db1 sa2 >/dev/null
[[ "$(listing "$UB" "$M/shared")" == "" ]] || fail "$UB sees shares before any: $(listing "$UB" "$M/shared")"
out="$(ctl --account "$A" snapshot attribute modify sa2 --attribute restore --add "$B")"
[[ $out == *"restore: $B"* ]] || fail "attribute modify says: $out"
jc "$T/store" --account "$A" snapshot attribute show sa2 |
  jq -e --arg b "$B" '.SnapshotAttributesResult.SnapshotAttributes[0].AttributeValues == [$b]' >/dev/null ||
  fail "attribute show does not list $B"
[[ "$(listing "$UB" "$M/shared")" == "$A " ]] || fail "$UB lists shared/: $(listing "$UB" "$M/shared")"
[[ "$(listing "$UB" "$M/shared/$A/snapshots")" == "sa2 " ]] || fail "$UB lists: $(listing "$UB" "$M/shared/$A/snapshots")"
[[ "$(head4 "$UB" "$M/shared/$A/snapshots/sa2")" == AAAA ]] || fail "$UB reads the shared snapshot wrong"
[[ "$(run_as "$UB" stat -c '%u %a' "$M/shared/$A/snapshots/sa2")" == "$(id -u "$UA") 400" ]] ||
  fail "the shared snapshot shows $(run_as "$UB" stat -c '%u %a' "$M/shared/$A/snapshots/sa2")"
[[ "$(errno_of "$UB" "$M/shared/$A/snapshots/sa2" os.O_RDWR)" == EROFS ]] || fail "$UB opened a shared snapshot for writing"
out="$(run_as "$UB" rm -f "$M/shared/$A/snapshots/sa2" 2>&1 || true)"
[[ $out == *"Permission denied"* ]] || fail "rm of a shared snapshot by $UB says: $out"
[[ "$(listing "$UB" "$M/snapshots")" == "" ]] || fail "the shared snapshot shows in $UB's own snapshots/"
for who in "$UC" root; do
  [[ "$(stat_errno "$who" "$M/shared/$A/snapshots/sa2")" == ENOENT ]] || fail "$who sees $A's shared snapshot"
  [[ -z "$(listing "$who" "$M/shared")" ]] || fail "$who lists shared/: $(listing "$who" "$M/shared")"
done
# Not shared any more: gone for the next open at once.
ctl --account "$A" snapshot attribute modify sa2 --attribute restore --remove "$B" >/dev/null
[[ "$(stat_errno "$UB" "$M/shared/$A/snapshots/sa2")" == ENOENT ]] || fail "$UB still sees sa2 after --remove"
[[ "$(stat_errno "$UB" "$M/shared/$A")" == ENOENT ]] || fail "$UB still sees shared/$A after --remove"
# A snapshot made again under a shared one's name is not shared by the old entry.
ctl --account "$A" snapshot attribute modify sa2 --attribute restore --add "$B" >/dev/null
ctl --account "$A" snapshot delete sa2 >/dev/null
ctl --account "$A" snapshot create db1 sa2 >/dev/null
[[ "$(stat_errno "$UB" "$M/shared/$A/snapshots/sa2")" == ENOENT ]] || fail "a new sa2 inherited the old one's sharing"
# Public ("all"): every account sees it, a user without an account does not.
ctl --account "$A" snapshot attribute modify sa2 --attribute restore --add all >/dev/null
[[ "$(head4 "$UB" "$M/shared/$A/snapshots/sa2")" == AAAA ]] || fail "$UB cannot read a public snapshot"
[[ "$(head4 root "$M/shared/$A/snapshots/sa2")" == AAAA ]] || fail "root (the owner account) cannot read a public snapshot"
[[ "$(stat_errno "$UC" "$M/shared/$A/snapshots/sa2")" == ENOENT ]] || fail "$UC (no account) sees a public snapshot"

step "an account's image backs a loop device through its user's open, also when nothing is cached"
need_loop
loop_attach_as "$UB" LB "$M/volumes/db1"
sync
echo 3 >/proc/sys/vm/drop_caches  # every read below goes to the mount, from a kernel thread
[[ "$(head -c 4 "$LB")" == BBBB ]] || fail "the loop device of $UB's db1 reads $(head -c 4 "$LB")"
sleep 1.2  # past the attribute timeout: the kernel checks the size again, with the handle
printf 'LOOP' | dd of="$LB" bs=4 seek=1024 conv=notrunc,fsync status=none || fail "writing through the loop device failed"
echo 3 >/proc/sys/vm/drop_caches
[[ "$(dd if="$LB" bs=4 skip=1024 count=1 status=none)" == LOOP ]] || fail "the loop device does not read back its write"
loop_detach "$LB"
[[ "$(run_as "$UB" dd if="$M/volumes/db1" bs=4 skip=1024 count=1 status=none)" == LOOP ]] ||
  fail "$UB's db1 does not show the loop device's write"

step "a remount keeps every account's view"
unmount_store "$T/store" "$M"
mount_store "$T/store" "$M"
[[ "$(head4 "$UB" "$M/volumes/db1")" == BBBB ]] || fail "$UB's db1 after remount: $(head4 "$UB" "$M/volumes/db1")"
[[ "$(listing "$UA" "$M/volumes")" == "db1 only-a " ]] || fail "$UA lists after remount: $(listing "$UA" "$M/volumes")"
[[ "$(head4 "$UB" "$M/shared/$A/snapshots/sa2")" == AAAA ]] || fail "the public snapshot after remount"
log "PASSED"
