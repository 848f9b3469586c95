#!/usr/bin/env bash
# Snapshots and clones through the mount: the four-page copy-on-write scenario page by page
# (with the store's live bytes at every step); a snapshot is point-in-time, read-only and
# restorable; a clone chain 15 deep reads back every level, the 16th clone is refused with
# CloneQuotaExceeded and --full-copy works instead; deleting sources keeps their clones
# readable, across a remount too; deleting everything and running gc returns the space;
# cloning is O(1): as fast for 256 MiB written as for nothing, and copies no page.
source "$(dirname "$0")/lib.sh"
t_init "$@"

M="$T/mnt"
V="$M/volumes"
S="$M/snapshots"
P=4096  # page size of every volume here
W="$T/expect"  # expected images and page contents, outside the mount
mkdir -p "$W"

# --- local helpers ------------------------------------------------------------------------

# jctl ARGS...: clonectl --json; fails the test if the command fails.
jctl() {
  local out
  out="$(ctl --json "$@" 2>"$T/jctl.err")" || fail "clonectl $* failed: $(cat "$T/jctl.err") $out"
  printf '%s\n' "$out"
}
store_field() { jctl store usage | jq -er ".$1"; }
usage_field() { jctl volume usage "$1" | jq -er ".$2"; }

# put_page FILE PAGE SRC: writes the 4 KiB page SRC at page index PAGE of FILE, durably.
put_page() {
  dd if="$3" of="$1" bs=$P seek="$2" count=1 conv=notrunc,fsync status=none ||
    fail "writing page $2 of $1 failed"
}

# new_page NAME: a fresh page of random bytes in $W/NAME (never all zero).
new_page() { head -c $P /dev/urandom >"$W/$1"; }

# same FILE EXPECTED WHAT: FILE must equal EXPECTED byte for byte.
same() {
  cmp "$1" "$2" >"$T/cmp.out" 2>&1 || fail "$3: $1 differs from the expected image: $(cat "$T/cmp.out")"
}

# differs FILE OTHER WHAT: the two files must not be equal (proves a comparison can fail).
differs() {
  ! cmp -s "$1" "$2" || fail "$3: $1 unexpectedly equals $2"
}

# now_ms: wall clock in milliseconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# expect_ctl_error CODE CMD...: a clonectl command that must fail with exit 1 and error CODE,
# both in the text message on stderr and in the JSON error object. Leaves stderr in $T/err.
expect_ctl_error() {
  local code=$1 rc=0
  shift
  ctl "$@" >"$T/out" 2>"$T/err" || rc=$?
  ((rc == 1)) || fail "clonectl $*: expected exit 1 ($code), got $rc: $(cat "$T/out" "$T/err")"
  grep -q "^clonectl: $code: " "$T/err" || fail "clonectl $*: expected '$code', got: $(cat "$T/err")"
  rc=0
  ctl --json "$@" >"$T/out.json" 2>/dev/null || rc=$?
  ((rc == 1)) || fail "clonectl --json $*: expected exit 1, got $rc"
  [[ "$(jq -r .Code "$T/out.json")" == "$code" ]] || fail "clonectl --json $*: error object $(cat "$T/out.json")"
  log "ok: clonectl $* -> $(cat "$T/err")"
}

# write_errno FILE: tries to open FILE for writing and write one byte; prints the errno name
# (or OK if it worked).
write_errno() {
  python3 - "$1" <<'EOF'
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
    try:
        os.pwrite(fd, b"X", 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
EOF
}

step "store and mount"
new_store "$T/store"
mount_store "$STORE" "$M"
live0="$(store_field LiveBytes)"
((live0 == 0)) || fail "a fresh store has LiveBytes $live0"

# --- the four-page scenario -----------------------------------------------------------------

step "four pages: the source, then a clone that shares every page"
ctl volume create fa --size 16K >/dev/null
[[ "$(stat -c %s "$V/fa")" == 16384 ]] || fail "fa is not 16 KiB in the mount"
: >"$W/fa"
for i in 0 1 2 3; do
  new_page "p$i"
  put_page "$V/fa" "$i" "$W/p$i"
  put_page "$W/fa" "$i" "$W/p$i"
done
same "$V/fa" "$W/fa" "four pages written to fa"
live_src="$(store_field LiveBytes)"
((live_src >= 4 * P && live_src % 4 == 0)) || fail "LiveBytes $live_src after writing four pages"
REC=$((live_src / 4))  # one page record (page plus header)
((REC >= P && REC < P + 512)) || fail "one page record would be $REC bytes"
log "four pages stored: LiveBytes $live_src, one record $REC bytes"

clone_json="$(jctl volume clone fa fb)"
[[ "$(jq -r .SourceVolumeIdentifier <<<"$clone_json")" == fa ]] || fail "clone answer: $clone_json"
[[ "$(jq -r .CloneGroupId <<<"$clone_json")" == "$(jctl volume show fa | jq -r .VolumeId)" ]] ||
  fail "fb is not in fa's clone group: $clone_json"
[[ -f "$V/fb" ]] || fail "the clone fb is not visible in the mount at once"
[[ "$(stat -c %s "$V/fb")" == 16384 ]] || fail "fb is not 16 KiB"
same "$V/fb" "$W/fa" "fresh clone fb"
live="$(store_field LiveBytes)"
((live == live_src)) || fail "cloning changed LiveBytes: $live_src -> $live (a clone must copy nothing)"
[[ "$(usage_field fb MappedPages)" == 4 ]] || fail "fb does not read 4 mapped pages"

step "four pages: write page 1 of the source; the clone keeps the old page"
cp "$W/fa" "$W/fb"
new_page "p1new"
put_page "$V/fa" 1 "$W/p1new"
put_page "$W/fa" 1 "$W/p1new"
differs "$W/fa" "$W/fb" "model"
same "$V/fa" "$W/fa" "source after writing its page 1"
same "$V/fb" "$W/fb" "clone after the source wrote page 1"
live="$(store_field LiveBytes)"
((live == live_src + REC)) ||
  fail "after the source rewrote one shared page LiveBytes is $live, expected $live_src + one record ($REC)"

step "four pages: write page 3 of the clone; the source is unaffected"
new_page "p3new"
put_page "$V/fb" 3 "$W/p3new"
put_page "$W/fb" 3 "$W/p3new"
same "$V/fb" "$W/fb" "clone after writing its page 3"
same "$V/fa" "$W/fa" "source after the clone wrote page 3"
live="$(store_field LiveBytes)"
((live == live_src + 2 * REC)) ||
  fail "after the clone wrote one page LiveBytes is $live, expected $live_src + two records"
# Both sides again, through fresh opens, after the store synced.
ctl store sync >/dev/null
same "$V/fa" "$W/fa" "source (second read)"
same "$V/fb" "$W/fb" "clone (second read)"

# --- snapshots ----------------------------------------------------------------------------

step "snapshot: point in time, read-only, restorable"
ctl volume create pit --size 1M >/dev/null
head -c $((1 << 20)) /dev/urandom >"$W/pit.1"
dd if="$W/pit.1" of="$V/pit" bs=64K conv=notrunc,fsync status=none
same "$V/pit" "$W/pit.1" "pit before the snapshot"
snap_json="$(jctl snapshot create pit pit-s1 --tag purpose=test)"
[[ "$(jq -r '.Status + " " + .VolumeIdentifier + " " + (.SizeBytes|tostring)' <<<"$snap_json")" == "available pit 1048576" ]] ||
  fail "snapshot answer: $snap_json"
cp "$W/pit.1" "$W/pit.2"
for off in 0 17 200 255; do  # rewrite four scattered pages and one 64 KiB range
  new_page "pit.p$off"
  put_page "$V/pit" "$off" "$W/pit.p$off"
  put_page "$W/pit.2" "$off" "$W/pit.p$off"
done
head -c $((64 << 10)) /dev/urandom >"$W/pit.range"
dd if="$W/pit.range" of="$V/pit" bs=64K seek=5 conv=notrunc,fsync status=none
dd if="$W/pit.range" of="$W/pit.2" bs=64K seek=5 conv=notrunc status=none
same "$V/pit" "$W/pit.2" "pit after the later writes"
[[ -f "$S/pit-s1" ]] || fail "snapshots/pit-s1 not visible in the mount"
[[ "$(stat -c %s "$S/pit-s1")" == $((1 << 20)) ]] || fail "snapshots/pit-s1 has the wrong size"
same "$S/pit-s1" "$W/pit.1" "snapshot pit-s1 (must hold the content as of the snapshot)"
err="$(write_errno "$S/pit-s1")"
[[ "$err" == EROFS ]] || fail "writing to snapshots/pit-s1: expected EROFS, got $err"
if dd if=/dev/zero of="$S/pit-s1" bs=4K count=1 conv=notrunc status=none 2>"$T/dd.err"; then
  fail "dd into snapshots/pit-s1 succeeded"
fi
log "ok: writing to the snapshot fails: $(cat "$T/dd.err")"
same "$S/pit-s1" "$W/pit.1" "snapshot pit-s1 after the refused writes"
restore_json="$(jctl volume restore pit-s1 pit-r1)"
[[ "$(jq -r .SourceSnapshotIdentifier <<<"$restore_json")" == pit-s1 ]] || fail "restore answer: $restore_json"
same "$V/pit-r1" "$W/pit.1" "volume restored from pit-s1"
new_page "pit.r"
put_page "$V/pit-r1" 9 "$W/pit.r"
cp "$W/pit.1" "$W/pit-r1"
put_page "$W/pit-r1" 9 "$W/pit.r"
same "$V/pit-r1" "$W/pit-r1" "restored volume after a write"
same "$S/pit-s1" "$W/pit.1" "snapshot after a write to its restore"
same "$V/pit" "$W/pit.2" "pit after a write to its restore"

step "open volumes and snapshots cannot be deleted"
exec 7<"$V/fb" 8<"$S/pit-s1"
expect_ctl_error InvalidVolumeState volume delete fb
expect_ctl_error InvalidSnapshotState snapshot delete pit-s1
exec 7<&- 8<&-
[[ -f "$V/fb" && -f "$S/pit-s1" ]] || fail "a refused delete removed something"

# --- a chain 15 deep ------------------------------------------------------------------------

step "clone chain 15 deep, one distinct page per level"
CH_PAGES=16
ctl volume create ch0 --size $((CH_PAGES * P)) >/dev/null
head -c $((CH_PAGES * P)) /dev/zero >"$W/ch0"
new_page ch.p0
put_page "$V/ch0" 0 "$W/ch.p0"
put_page "$W/ch0" 0 "$W/ch.p0"
for d in $(seq 1 15); do
  jctl volume clone "ch$((d - 1))" "ch$d" >/dev/null
  cp "$W/ch$((d - 1))" "$W/ch$d"
  new_page "ch.p$d"
  put_page "$V/ch$d" "$d" "$W/ch.p$d"
  put_page "$W/ch$d" "$d" "$W/ch.p$d"
  same "$V/ch$d" "$W/ch$d" "chain level $d after its write"
  same "$V/ch$((d - 1))" "$W/ch$((d - 1))" "chain level $((d - 1)) after level $d wrote"
done
for d in $(seq 0 15); do
  same "$V/ch$d" "$W/ch$d" "chain level $d (all levels re-read)"
done
differs "$W/ch15" "$W/ch14" "model"
log "all 16 levels read back their own content"

step "the 16th copy-on-write clone is refused"
expect_ctl_error CloneQuotaExceeded volume clone ch15 ch16
grep -q -- "--full-copy" "$T/err" || fail "the CloneQuotaExceeded message does not name --full-copy: $(cat "$T/err")"
expect_ctl_error CloneQuotaExceeded volume clone ch0 ch16
[[ ! -e "$V/ch16" ]] || fail "a refused clone shows in the mount"
! jctl volume list | jq -e '.Volumes[] | select(.VolumeIdentifier == "ch16")' >/dev/null ||
  fail "a refused clone is in volume list"
jctl snapshot create ch7 ch7-s >/dev/null  # snapshots are not clones: allowed
expect_ctl_error CloneQuotaExceeded volume restore ch7-s ch16
ctl snapshot delete ch7-s >/dev/null

step "--full-copy instead: a new lineage, equal content"
full_json="$(ctl --json volume clone ch15 ch15-copy --full-copy </dev/null)" ||
  fail "volume clone --full-copy failed: $full_json"
[[ "$(jq -r '.VolumeId == .CloneGroupId and (has("SourceVolumeIdentifier") | not)' <<<"$full_json")" == true ]] ||
  fail "a full copy must start its own clone group: $full_json"
same "$V/ch15-copy" "$W/ch15" "full copy of ch15"
jctl volume clone ch15-copy ch15-copy-c1 >/dev/null  # its own quota
same "$V/ch15-copy-c1" "$W/ch15" "clone of the full copy"
new_page ch.copyp
put_page "$V/ch15-copy" 4 "$W/ch.copyp"
cp "$W/ch15" "$W/ch15-copy"
put_page "$W/ch15-copy" 4 "$W/ch.copyp"
same "$V/ch15-copy" "$W/ch15-copy" "full copy after a write"
same "$V/ch15" "$W/ch15" "ch15 after a write to its full copy"

# --- O(1) clones ----------------------------------------------------------------------------

step "O(1): cloning 256 MiB written costs what cloning nothing costs"
ctl volume create big --size 512M >/dev/null
ctl volume create empty --size 512M >/dev/null
dd if=/dev/urandom of="$V/big" bs=1M count=256 conv=notrunc,fsync status=none
big_stored="$(usage_field big StoredBytes)"
((big_stored >= 256 << 20)) || fail "big stores only $big_stored bytes after 256 MiB of random data"
live_before="$(store_field LiveBytes)"
seg_before="$(store_field SegmentBytes)"
t0=$(now_ms)
jctl volume clone empty empty-c >/dev/null
t1=$(now_ms)
jctl volume clone big big-c >/dev/null
t2=$(now_ms)
jctl snapshot create big big-s >/dev/null
t3=$(now_ms)
log "clone of the empty volume $((t1 - t0)) ms, of 256 MiB written $((t2 - t1)) ms, snapshot $((t3 - t2)) ms"
((t1 - t0 < 2000)) || fail "cloning an empty volume took $((t1 - t0)) ms"
((t2 - t1 < 2000)) || fail "cloning a volume with 256 MiB written took $((t2 - t1)) ms"
((t3 - t2 < 2000)) || fail "snapshotting a volume with 256 MiB written took $((t3 - t2)) ms"
live_after="$(store_field LiveBytes)"
seg_after="$(store_field SegmentBytes)"
((live_after == live_before)) || fail "cloning changed LiveBytes: $live_before -> $live_after"
((seg_after - seg_before < 1 << 20)) || fail "cloning grew the segments: $seg_before -> $seg_after"
usage_json="$(jctl volume usage big-c)"
log "big-c usage right after cloning: $usage_json"
if jq -e 'has("OwnedBytes")' <<<"$usage_json" >/dev/null; then
  [[ "$(jq -r .OwnedBytes <<<"$usage_json")" == 0 ]] || fail "a fresh clone owns bytes: $usage_json"
else
  log "volume usage reports no OwnedBytes; relying on LiveBytes (unchanged) instead"
fi
[[ "$(jq -r .StoredBytes <<<"$usage_json")" == "$big_stored" ]] ||
  fail "big-c does not read big's $big_stored stored bytes: $usage_json"
cmp "$V/big" "$V/big-c" || fail "big-c differs from big"
# A write to the clone allocates only what it writes.
dd if=/dev/urandom of="$V/big-c" bs=1M count=4 seek=100 conv=notrunc,fsync status=none
live_w="$(store_field LiveBytes)"
grown=$((live_w - live_after))
((grown >= 4 << 20 && grown <= (4 << 20) * 105 / 100)) ||
  fail "writing 4 MiB to the clone grew LiveBytes by $grown bytes (expected 4 MiB to 4.2 MiB)"
log "4 MiB written to the clone: LiveBytes +$grown"
cmp -s "$V/big" "$V/big-c" && fail "big-c still equals big after writing to it"
cmp "$V/big" "$S/big-s" || fail "snapshot big-s differs from big"

# --- deleting sources -----------------------------------------------------------------------

# check_survivors WHAT: every volume that must outlive its deleted sources reads as expected.
check_survivors() {
  same "$V/fb" "$W/fb" "$1: clone fb"
  same "$S/pit-s1" "$W/pit.1" "$1: snapshot pit-s1"
  same "$V/pit-r1" "$W/pit-r1" "$1: restored pit-r1"
  same "$V/ch7" "$W/ch7" "$1: chain level 7"
  same "$V/ch15" "$W/ch15" "$1: chain level 15"
  same "$V/ch15-copy-c1" "$W/ch15" "$1: clone of the deleted full copy"
  cmp "$S/big-s" "$T/big.img" || fail "$1: snapshot big-s changed"
  log "$1: every survivor reads back its content"
}

step "delete sources that clones and snapshots still read"
# --sparse=always: volumes show their full size in st_blocks, so cp would write the holes out.
cp --sparse=always "$V/big" "$T/big.img"
deleted=(fa pit big ch15-copy)
for d in 0 1 2 3 4 5 6 8 9 10 11 12 13 14; do deleted+=("ch$d"); done
for name in "${deleted[@]}"; do
  [[ "$(jctl volume delete "$name" | jq -r .Status)" == deleted ]] || fail "delete $name"
done
for name in "${deleted[@]}"; do
  [[ ! -e "$V/$name" ]] || fail "deleted volume $name still in the mount"
  expect_ctl_error VolumeNotFound volume show "$name" >/dev/null
done
! jctl volume show fb | jq -e 'has("SourceVolumeIdentifier")' >/dev/null ||
  fail "fb still names its deleted source: $(jctl volume show fb)"
check_survivors "after deleting the sources"
# A deleted name is free again and the new volume shares nothing with the old one.
ctl volume create fa --size 16K >/dev/null
cmp "$V/fa" <(head -c 16384 /dev/zero) || fail "a new volume reusing the name fa is not all zero"
ctl volume delete fa >/dev/null
jctl gc >/dev/null
check_survivors "after gc"

step "remount the store: the clones still read correctly"
unmount_store "$STORE" "$M"
mount_store "$STORE" "$M"
check_survivors "after remount"
jctl gc >/dev/null
check_survivors "after remount and gc"

# --- deleting everything --------------------------------------------------------------------

step "delete everything, gc: the space comes back"
usage_before="$(jctl store usage)"
log "before deleting everything: $usage_before"
written=$(($(jq -r .SegmentBytes <<<"$usage_before")))
((written >= 256 << 20)) || fail "only $written segment bytes before deleting everything"
for s in $(jctl snapshot list | jq -r '.Snapshots[].SnapshotIdentifier'); do
  ctl snapshot delete "$s" >/dev/null || fail "snapshot delete $s"
done
for v in $(jctl volume list | jq -r '.Volumes[].VolumeIdentifier'); do
  ctl volume delete "$v" >/dev/null || fail "volume delete $v"
done
[[ "$(jctl volume list | jq '.Volumes | length')" == 0 ]] || fail "volumes left: $(jctl volume list)"
[[ "$(jctl snapshot list | jq '.Snapshots | length')" == 0 ]] || fail "snapshots left: $(jctl snapshot list)"
[[ -z "$(ls -A "$V")" && -z "$(ls -A "$S")" ]] || fail "the mount still lists files: $(ls -A "$V" "$S")"
gc_json="$(jctl gc)"
log "gc: $(jq -c . <<<"$gc_json")"
usage_after="$(jctl store usage)"
log "after gc: $usage_after"
live_end="$(jq -r .LiveBytes <<<"$usage_after")"
seg_end="$(jq -r .SegmentBytes <<<"$usage_after")"
((live_end == 0)) || fail "LiveBytes is $live_end after deleting everything and gc"
# Nothing survives, so at least 90 % of the segment bytes must go (and never more than the
# one segment being written may remain).
((seg_end <= 64 << 20)) || fail "SegmentBytes is $seg_end after deleting everything and gc (> one segment)"
(((written - seg_end) * 10 >= written * 9)) ||
  fail "gc freed only $((written - seg_end)) of $written segment bytes (< 90 %) with nothing left to keep"
seg_files="$(du -sb "$STORE/segments" | cut -f1)"
((seg_files <= (64 << 20) + (1 << 20))) || fail "the segments directory still holds $seg_files bytes"
log "gc returned $((written - seg_end)) of $written bytes; $seg_files bytes remain in $STORE/segments"

unmount_store "$STORE" "$M"
