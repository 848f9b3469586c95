#!/usr/bin/env bash
# clonectl end to end: error paths change nothing; with a daemon serving the store, volume
# create/resize/delete show in the mount at once; a second daemon on the same store is refused.
source "$(dirname "$0")/lib.sh"
t_init "$@"

# expect_fail DESCRIPTION CMD...: CMD must exit non-zero and say something on stderr.
expect_fail() {
  local what=$1 rc=0
  shift
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  ((rc != 0)) || fail "$what: expected an error, got exit 0 (stdout: $(head -c 300 "$T/out"))"
  [[ -s "$T/err" ]] || fail "$what: exit $rc but nothing on stderr"
  log "ok: $what -> exit $rc: $(head -n 1 "$T/err")"
}

# (but the latest restorable time, which is now for a volume nothing was written to since)
listing() { ctl --json volume list | jq -S 'del(.Volumes[].LatestRestorableTime)'; }

# Every way of creating a volume wrongly; the store must stay exactly as it was.
bad_creates() {
  local before name size
  before="$(listing)"
  for name in 1abc a--b abc- -abc "" ab_c "a b" "$(printf 'a%.0s' {1..64})" "vol/x" "ünï"; do
    expect_fail "volume create bad name '$name'" ctl volume create "$name" --size 1G
  done
  for size in 0 -1 abc 10Q 1.5.5G "" 1000 99999999999999999999999 2E; do
    expect_fail "volume create bad size '$size'" ctl volume create okname --size "$size"
  done
  expect_fail "volume create without --size" ctl volume create okname
  for ps in 2K 128K 5K 0 abc; do
    expect_fail "volume create bad page size '$ps'" ctl volume create okname --size 1G --page-size "$ps"
  done
  expect_fail "volume create bad compression" ctl volume create okname --size 1G --compression lz4
  expect_fail "volume create duplicate" ctl volume create keep1 --size 1G
  expect_fail "volume resize missing" ctl volume resize nosuch --size 1G
  expect_fail "volume resize bad size" ctl volume resize keep1 --size 0
  expect_fail "volume resize bad size" ctl volume resize keep1 --size junk
  expect_fail "volume delete missing" ctl volume delete nosuch
  expect_fail "volume show missing" ctl volume show nosuch
  expect_fail "volume usage missing" ctl volume usage nosuch
  expect_fail "unknown subcommand" ctl volume explode keep1
  [[ "$(listing)" == "$before" ]] || fail "a failed command changed the volume list:
before: $before
after:  $(listing)"
}

step "init and not-a-store errors (no daemon)"
expect_fail "volume list on a missing dir" "$CLONECTL" --store "$T/nothing-here" volume list
mkdir "$T/plain-dir"
touch "$T/plain-dir/somefile"
expect_fail "volume list on a non-store dir" "$CLONECTL" --store "$T/plain-dir" volume list
expect_fail "volume create on a non-store dir" "$CLONECTL" --store "$T/plain-dir" volume create a --size 1G
expect_fail "init in a non-empty non-store dir" "$CLONECTL" --store "$T/plain-dir" init
[[ "$(ls -A "$T/plain-dir")" == somefile ]] || fail "failed commands wrote into $T/plain-dir"
new_store "$T/store"
expect_fail "init twice" "$CLONECTL" --store "$STORE" init
expect_fail "init twice with a region" "$CLONECTL" --store "$STORE" init --region us-east-1
region="$(ctl --json store info | iotool json-get region)"
[[ "$region" == local ]] || fail "default region is '$region', expected local"
expect_fail "init with a bad region" "$CLONECTL" --store "$T/store2" init --region "bad region!"

step "volume create/list/show/resize/delete without a daemon"
ctl volume create keep1 --size 1G >/dev/null
ctl volume create keep2 --size 64M --page-size 16K --compression zstd >/dev/null
long="$(printf 'b%.0s' {1..63})"
ctl volume create "$long" --size 512K >/dev/null || fail "a 63-character name must be accepted"
[[ "$(ctl --json volume show keep2 | iotool json-get size_bytes)" == $((64 << 20)) ]] || fail "keep2 size"
[[ "$(ctl --json volume show keep2 | iotool json-get page_size)" == 16384 ]] || fail "keep2 page size"
[[ "$(ctl --json volume show keep2 | iotool json-get compression)" == zstd ]] || fail "keep2 compression"
ctl volume list | grep -q keep1 || fail "plain volume list does not show keep1"
CLONEFS_HOME="$STORE" "$CLONECTL" --json volume list | grep -q keep2 || fail "CLONEFS_HOME is not the default store"
bad_creates

step "mount (clonefs returns once the mount is ready)"
MOUNT_OPTS="metrics=$T/metrics.prom,metrics_interval_ms=200" mount_store "$STORE" "$T/mnt" daemon
M="$T/mnt"
[[ "$(stat -c %s "$M/volumes/keep1")" == $((1 << 30)) ]] || fail "keep1 size in the mount"
[[ -f "$M/volumes/$long" ]] || fail "the 63-character volume is missing from the mount"
[[ -z "$(ls -A "$M/snapshots")" ]] || fail "snapshots/ should be empty"
[[ -S "$STORE/control.sock" ]] || fail "no control socket at $STORE/control.sock"

step "changes through the daemon show in the mount at once"
ls "$M/volumes" >/dev/null  # prime the kernel's directory and attribute caches
stat "$M/volumes/keep1" >/dev/null
! stat "$M/volumes/live1" >/dev/null 2>&1 || fail "live1 exists before it was created"
ctl volume create live1 --size 100M >/dev/null
[[ "$(stat -c %s "$M/volumes/live1" 2>/dev/null)" == $((100 << 20)) ]] || fail "live1 not visible at once (or wrong size)"
ls "$M/volumes" | grep -qx live1 || fail "live1 not in the directory listing"
printf 'hello clonefs' | dd of="$M/volumes/live1" bs=4096 seek=10 conv=notrunc,fsync status=none
ctl volume resize live1 --size 200M >/dev/null
[[ "$(stat -c %s "$M/volumes/live1")" == $((200 << 20)) ]] || fail "grow not visible in stat"
expect_fail "a shrink without --allow-shrink" ctl volume resize live1 --size 50M
grep -q "InvalidParameterCombination.*--allow-shrink" "$T/err" || fail "shrink refusal: $(cat "$T/err")"
[[ "$(stat -c %s "$M/volumes/live1")" == $((200 << 20)) ]] || fail "a refused shrink changed the size"
need_loop
loop_attach LIVE "$M/volumes/live1"
expect_fail "a shrink while a loop device holds the volume" ctl volume resize live1 --size 50M --allow-shrink
grep -q "InvalidVolumeState.*in use" "$T/err" || fail "in-use refusal: $(cat "$T/err")"
loop_detach "$LIVE"
[[ "$(stat -c %s "$M/volumes/live1")" == $((200 << 20)) ]] || fail "a refused shrink changed the size"
ctl volume resize live1 --size 50M --allow-shrink >/dev/null
[[ "$(stat -c %s "$M/volumes/live1")" == $((50 << 20)) ]] || fail "shrink not visible in stat"
[[ "$(dd if="$M/volumes/live1" bs=4096 skip=10 count=1 status=none | head -c 13)" == "hello clonefs" ]] ||
  fail "data below the new end lost by shrink"
[[ "$(ctl --json volume show live1 | iotool json-get size_bytes)" == $((50 << 20)) ]] || fail "show after resize"
bad_creates
ctl volume delete live1 >/dev/null
! stat "$M/volumes/live1" >/dev/null 2>&1 || fail "live1 still visible after delete"
! ls "$M/volumes" | grep -qx live1 || fail "live1 still listed after delete"
! ctl --json volume list | grep -q live1 || fail "live1 still in volume list after delete"
ctl store info >/dev/null || fail "store info via the daemon"
ctl store usage >/dev/null || fail "store usage via the daemon"

step "bash completion offers what clonectl itself defines"
complete_words() {
  # shellcheck disable=SC1091
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _clonectl; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$(dirname "$0")/../packaging/clonectl.bash-completion" "$CLONECTL" "$@"
}
[[ "$(complete_words vol)" == volume ]] || fail "completing 'vol': $(complete_words vol)"
complete_words volume "" >"$T/words"  # a file: grep -q would leave the printer a SIGPIPE
grep -qx modify "$T/words" || fail "volume subcommands: $(cat "$T/words")"
[[ "$(complete_words volume delete db --ret)" == --retain-automated-backups ]] ||
  fail "volume delete options: $(complete_words volume delete db --ret)"
complete_words snapshot list --st >"$T/words"
grep -qx -- --store "$T/words" || fail "global options are not offered: $(cat "$T/words")"

step "the man pages are built from the docs and render cleanly"
python3 "$(dirname "$0")/../tools/make_man.py" "$T/man" >/dev/null || fail "make_man.py failed"
for page in clonectl.1 clonefs.8 clonefs-export.1; do
  groff -man -Tutf8 -ww -z "$T/man/$page" 2>"$T/groff.err" || fail "groff $page failed"
  [[ ! -s "$T/groff.err" ]] || fail "groff warns about $page: $(head -5 "$T/groff.err")"
done
groff -man -Tascii -P-cbou -rLL=1000n "$T/man/clonectl.1" 2>/dev/null | grep -q "volume modify NAME" ||
  fail "clonectl.1 lacks the command table"
groff -man -Tascii -P-cbou -rLL=1000n "$T/man/clonefs.8" 2>/dev/null | grep -q "backups=on|off" ||
  fail "clonefs.8 lacks the mount options"
groff -man -Tascii -P-cbou -rLL=1000n "$T/man/clonefs-export.1" 2>/dev/null | grep -q "recipient" ||
  fail "clonefs-export.1 lacks the export options"

step "store stats and the metrics file count the I/O just done"
stats="$(ctl --json store stats)" || fail "store stats via the daemon"
jq -e '.Writes.Count >= 1 and .Writes.Bytes >= 13 and .Reads.Count >= 1 and .Syncs.Count >= 1 and
  .Writes.LatencyMicros.Max >= .Writes.LatencyMicros.P50 and .VolumeCount >= 3' <<<"$stats" >/dev/null ||
  fail "store stats: $stats"
ctl store stats | grep -q "^write " || fail "store stats text: $(ctl store stats)"
deadline=$(($(date +%s) + 10))
until grep -Eq '^clonefs_ops_total\{op="write"\} [1-9]' "$T/metrics.prom" 2>/dev/null; do
  (($(date +%s) < deadline)) || fail "metrics file: $(cat "$T/metrics.prom" 2>&1 | head -20)"
  sleep 0.2
done
grep -q '^# TYPE clonefs_latency_seconds gauge$' "$T/metrics.prom" || fail "metrics file lacks TYPE lines"

step "a second daemon on the same store is refused"
mkdir -p "$T/mnt2"
rc=0
timeout 30 "$CLONEFS" "$STORE" "$T/mnt2" -o log_level=info >"$T/second.out" 2>&1 || rc=$?
((rc != 0 && rc != 124)) || fail "second clonefs on the same store: exit $rc"
grep -q "store is in use by pid $DAEMON_PID" "$T/second.out" ||
  fail "second clonefs did not say 'store is in use by pid $DAEMON_PID': $(cat "$T/second.out")"
! is_mounted "$T/mnt2" || fail "the second clonefs mounted $T/mnt2 anyway"
pid_alive "$DAEMON_PID" || fail "the first daemon died"
[[ -f "$M/volumes/keep1" ]] || fail "first mount broken after the refused second daemon"

step "clean unmount releases the store; clonectl opens it directly again"
unmount_store "$STORE" "$M"
names="$(ctl --json volume list)"
for v in keep1 keep2 "$long"; do
  grep -q "\"$v\"" <<<"$names" || fail "$v missing after unmount: $names"
done
! grep -q '"live1"' <<<"$names" || fail "live1 came back after unmount"
assert_no_corruption
