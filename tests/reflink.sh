#!/usr/bin/env bash
# cp inside the mount. A whole volume copied into an empty one (what `cp` does: coreutils 9
# creates or truncates DEST, then calls copy_file_range from offset 0 to the end) becomes an
# O(1) copy-on-write clone: equal bytes, no new segment bytes, as fast for 1 GiB as for 64 MiB,
# across the kernel's 4 GiB-per-request cap too, from a snapshot too, for a mostly empty
# volume too (a fresh ext4 image: the mount reports every volume fully provisioned, so cp does
# not take it for a sparse file), and durable across kill -9. Afterwards both sides are
# independent. Everything else still gives the right bytes, copied: a partial range, a
# destination that is already a clone, the 16th clone of a lineage, which becomes a full
# independent copy instead of failing, and a sparse volume under -o sparse_blocks (st_blocks
# from the stored bytes), which cp copies as a sparse file.
source "$(dirname "$0")/lib.sh"
t_init "$@"

M="$T/mnt"
V="$M/volumes"
S="$M/snapshots"
W="$T/expect"  # expected images, outside the mount
mkdir -p "$W"

# --- local helpers ------------------------------------------------------------------------

jctl() {
  local out
  out="$(ctl --json "$@" 2>"$T/jctl.err")" || fail "clonectl $* failed: $(cat "$T/jctl.err") $out"
  printf '%s\n' "$out"
}
store_field() { jctl store usage | jq -er ".$1"; }
vol_field() { jctl volume show "$1" | jq -r ".$2 // empty"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

same() {
  cmp "$1" "$2" >"$T/cmp.out" 2>&1 || fail "$3: $1 differs from $2: $(cat "$T/cmp.out")"
}

# is_clone_of NAME SOURCE: NAME is a copy-on-write clone of volume SOURCE (its clone group).
is_clone_of() {
  [[ "$(vol_field "$1" SourceVolumeIdentifier)" == "$2" ]] ||
    fail "$1 is not a clone of $2: $(jctl volume show "$1")"
  [[ "$(vol_field "$1" CloneGroupId)" == "$(vol_field "$2" CloneGroupId)" ]] ||
    fail "$1 is not in $2's clone group"
}

# is_independent NAME: NAME is a root volume of its own clone group (a full copy).
is_independent() {
  [[ -z "$(vol_field "$1" SourceVolumeIdentifier)" && -z "$(vol_field "$1" SourceSnapshotIdentifier)" ]] ||
    fail "$1 names a source: $(jctl volume show "$1")"
  [[ "$(vol_field "$1" CloneGroupId)" == "$(vol_field "$1" VolumeId)" ]] ||
    fail "$1 is not its own clone group: $(jctl volume show "$1")"
}

# shows_full_size FILE: st_blocks cover the whole size, as the mount reports every volume by
# default. cp (coreutils 9.1) copies a file whose st_blocks fall short of its size as a sparse
# one, with SEEK_DATA, read and write, and only otherwise with copy_file_range.
shows_full_size() {
  local blocks size
  read -r blocks size < <(stat -c '%b %s' "$1")
  ((blocks == (size + 511) / 512)) || fail "$1 shows $blocks blocks for $size bytes"
}

# cp_traced SRC DST CP_ARGS...: cp CP_ARGS volumes/SRC volumes/DST under strace. Fails unless
# cp copied with copy_file_range and, once both files were open, neither read SRC nor wrote
# DST itself; and, without --sparse=never, unless cp never probed SRC for holes (SEEK_DATA:
# it took SRC for a sparse file). With --sparse=never cp 9.1 still probes, but then hands each
# data extent to copy_file_range. Without strace, runs cp and leaves the checks to the caller.
cp_traced() {
  local src=$1 dst=$2 tr="$T/strace.$2" rw
  shift 2
  if ! command -v strace >/dev/null; then
    log "strace not installed: checking the result only"
    cp "$@" "$V/$src" "$V/$dst" || fail "cp $* $src $dst failed"
    return 0
  fi
  strace -f -e trace=openat,copy_file_range,lseek,read,write -o "$tr" \
    cp "$@" "$V/$src" "$V/$dst" || fail "cp $* $src $dst under strace failed"
  if [[ " $* " != *" --sparse=never "* ]] && grep -q 'SEEK_DATA' "$tr"; then
    fail "cp took $src for a sparse file: $(grep -m 3 lseek "$tr")"
  fi
  grep -q 'copy_file_range(' "$tr" || fail "cp did not use copy_file_range: $(tail -n 5 "$tr")"
  rw="$(awk -F'= ' -v s="volumes/$src\"" -v d="volumes/$dst\"" '
    /openat\(/ && index($0, s) { src = $NF + 0 }
    /openat\(/ && index($0, d) { dst = $NF + 0; open = 1; next }
    open && ($0 ~ "read\\(" src "," || $0 ~ "write\\(" dst ",")' "$tr")"
  [[ -z "$rw" ]] || fail "cp read or wrote the data itself: $(head -n 3 <<<"$rw")"
  log "strace of cp${*:+ $*} $src $dst: $(grep copy_file_range "$tr" | head -n 2 | tr '\n' ' ')"
}

# timed_cp MS_VAR ARGS...: runs cp ARGS and stores its wall time in ms in MS_VAR.
timed_cp() {
  local __var=$1 t0 t1
  shift
  t0=$(now_ms)
  cp "$@" || fail "cp $* failed"
  t1=$(now_ms)
  printf -v "$__var" '%s' $((t1 - t0))
}

# copy_range SRC DST OFF_IN OFF_OUT LEN: copy_file_range(2) of LEN bytes, looping on short
# counts as a program would; prints how many bytes were copied.
copy_range() {
  python3 - "$@" <<'EOF'
import os, sys
src, dst, off_in, off_out, n = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
fi = os.open(src, os.O_RDONLY)
fo = os.open(dst, os.O_WRONLY | os.O_CREAT, 0o600)
done = 0
while done < n:
    k = os.copy_file_range(fi, fo, n - done, off_in + done, off_out + done)
    if k == 0:
        break
    done += k
os.close(fo)
os.close(fi)
print(done)
EOF
}

# put_bytes FILE OFFSET SRC: writes file SRC into FILE at byte OFFSET (no truncation), durably.
put_bytes() {
  dd if="$3" of="$1" bs=64K seek="$2" oflag=seek_bytes conv=notrunc,fsync status=none ||
    fail "writing $3 into $1 at $2 failed"
}

step "store and mount"
new_store "$T/store"
mount_store "$STORE" "$M"

# --- the O(1) clone -------------------------------------------------------------------------

step "64 MiB written through the mount, then cp --reflink=auto: an O(1) clone"
head -c $((64 << 20)) /dev/urandom >"$W/a"
dd if="$W/a" of="$V/A" bs=1M conv=fsync status=none || fail "writing A"
same "$V/A" "$W/a" "A as written"
# Checkpoint (gc does) first, so that the metadata of the 64 MiB just written is not counted
# as the clone's.
jctl gc >/dev/null
live0="$(store_field LiveBytes)"
seg0="$(store_field SegmentBytes)"
du0="$(du -sb "$STORE" | cut -f1)"
timed_cp ms_clone --reflink=auto "$V/A" "$V/B"
live1="$(store_field LiveBytes)"
seg1="$(store_field SegmentBytes)"
du1="$(du -sb "$STORE" | cut -f1)"
log "cp --reflink=auto of 64 MiB: $ms_clone ms; LiveBytes +$((live1 - live0)), SegmentBytes +$((seg1 - seg0)), store directory +$((du1 - du0)) bytes"
same "$V/B" "$W/a" "B right after cp"
is_clone_of B A
((live1 == live0)) || fail "the clone changed LiveBytes: $live0 -> $live1"
((seg1 - seg0 < 1 << 20)) || fail "the clone grew the segments by $((seg1 - seg0)) bytes"
((du1 - du0 < 1 << 20)) || fail "the clone grew the store directory by $((du1 - du0)) bytes"
((ms_clone < 3000)) || fail "cp of 64 MiB as a clone took $ms_clone ms"
[[ "$(stat -c %s "$V/B")" == $((64 << 20)) ]] || fail "B has the wrong size"
# For comparison: the same bytes copied for real.
timed_cp ms_bytes --reflink=never "$V/A" "$V/A-bytes"
same "$V/A-bytes" "$W/a" "byte copy of A"
log "for comparison, cp --reflink=never of the same 64 MiB: $ms_bytes ms"

step "copy-on-write both ways after the cp"
live1="$(store_field LiveBytes)"
head -c $((1 << 20)) /dev/urandom >"$W/p1"
head -c $((1 << 20)) /dev/urandom >"$W/p2"
cp "$W/a" "$W/b"
put_bytes "$V/B" $((10 << 20)) "$W/p1"
put_bytes "$W/b" $((10 << 20)) "$W/p1"
same "$V/B" "$W/b" "B after writing to it"
same "$V/A" "$W/a" "A after a write to its clone B"
put_bytes "$V/A" $(((20 << 20) + 4096 + 100)) "$W/p2"
put_bytes "$W/a" $(((20 << 20) + 4096 + 100)) "$W/p2"
same "$V/A" "$W/a" "A after writing to it"
same "$V/B" "$W/b" "B after a write to its source A"
live2="$(store_field LiveBytes)"
grown=$((live2 - live1))
((grown >= 2 << 20 && grown <= (2 << 20) * 106 / 100 + 8192)) ||
  fail "two 1 MiB writes after the clone grew LiveBytes by $grown bytes"

step "plain cp (coreutils' default) is the same clone; strace shows copy_file_range only"
# Right after writes, too: st_blocks do not depend on what the volume stores.
put_bytes "$V/A" $((40 << 20)) "$W/p2"
put_bytes "$W/a" $((40 << 20)) "$W/p2"
shows_full_size "$V/A"
cp_traced A C
same "$V/C" "$W/a" "C (plain cp of A)"
is_clone_of C A
cp "$W/a" "$W/c"

step "cp over an existing volume that holds data: O_TRUNC empties it, then it becomes the clone"
ctl volume create D --size 8M >/dev/null
head -c $((8 << 20)) /dev/urandom >"$W/d-old"
put_bytes "$V/D" 0 "$W/d-old"
cp "$V/A" "$V/D" || fail "cp A D failed"
same "$V/D" "$W/a" "D after cp over it"
is_clone_of D A

# --- byte copies ----------------------------------------------------------------------------

step "cp into a volume that is already a clone: copied byte for byte, still correct"
live_a="$(store_field LiveBytes)"
cp "$V/A" "$V/B" || fail "second cp A B failed"
same "$V/B" "$W/a" "B after a second cp from A"
live_b="$(store_field LiveBytes)"
(((live_b - live_a) >= (60 << 20))) ||
  fail "a byte copy into B should store about 64 MiB, LiveBytes grew by $((live_b - live_a))"
grep -q "copy of A into B: no copy-on-write clone" "$T"/clonefs.*.log ||
  fail "the daemon did not log why B was copied byte for byte"
cp "$W/a" "$W/b"

step "partial ranges: copied byte for byte at any offsets"
ctl volume create PR --size 4M >/dev/null
head -c $((4 << 20)) /dev/urandom >"$W/pr"
put_bytes "$V/PR" 0 "$W/pr"
# 1. From the middle of A into the middle of PR (non-empty), unaligned.
n="$(copy_range "$V/A" "$V/PR" $(((3 << 20) + 100)) 777 $(((2 << 20) + 5)))"
((n == (2 << 20) + 5)) || fail "copy_file_range into PR copied $n bytes"
python3 - "$W/a" "$W/pr" <<'EOF'
import sys
a = open(sys.argv[1], 'rb').read()
pr = bytearray(open(sys.argv[2], 'rb').read())
n = (2 << 20) + 5
pr[777:777 + n] = a[(3 << 20) + 100:(3 << 20) + 100 + n]
open(sys.argv[2], 'wb').write(pr)
EOF
same "$V/PR" "$W/pr" "PR after a partial copy into its middle"
# 2. A prefix of A from offset 0 into an empty volume: not the whole source, so no clone.
n="$(copy_range "$V/A" "$V/PX" 0 0 $((5 << 20)))"
((n == 5 << 20)) || fail "prefix copy copied $n bytes"
same "$V/PX" <(head -c $((5 << 20)) "$W/a") "PX (a 5 MiB prefix of A)"
is_independent PX
# 3. Into an empty volume at an offset: zeros before it.
n="$(copy_range "$V/A" "$V/PO" 4096 $((1 << 20)) 65536)"
((n == 65536)) || fail "offset copy copied $n bytes"
same "$V/PO" <(head -c $((1 << 20)) /dev/zero; dd if="$W/a" bs=4096 skip=1 count=16 status=none) "PO"
same "$V/A" "$W/a" "A after being copied from"

# --- a snapshot, a bigger volume, the kernel's request cap ---------------------------------

step "cp of a snapshot into a new volume: a copy-on-write restore"
jctl snapshot create A snapA >/dev/null
cp "$S/snapA" "$V/R" || fail "cp snapA R failed"
same "$V/R" "$W/a" "R (cp of snapshot snapA)"
[[ "$(vol_field R SourceSnapshotIdentifier)" == snapA ]] || fail "R is not a restore of snapA: $(jctl volume show R)"

step "1 GiB written: plain cp is still O(1)"
dd if=/dev/urandom of="$V/G" bs=1M count=1024 conv=fsync status=none || fail "writing G"
live_g0="$(store_field LiveBytes)"
seg_g0="$(store_field SegmentBytes)"
timed_cp ms_big "$V/G" "$V/G2"
live_g1="$(store_field LiveBytes)"
seg_g1="$(store_field SegmentBytes)"
log "plain cp of 1 GiB written: $ms_big ms; LiveBytes +$((live_g1 - live_g0)), SegmentBytes +$((seg_g1 - seg_g0))"
((ms_big < 3000)) || fail "cp of 1 GiB as a clone took $ms_big ms"
((live_g1 == live_g0 && seg_g1 - seg_g0 < 1 << 20)) || fail "cp of G stored data"
is_clone_of G2 G
cmp "$V/G" "$V/G2" || fail "G2 differs from G"

step "a mostly empty 1 GiB ext4 image: plain cp --reflink=auto is an O(1) clone too"
# mkfs.ext4 through a loop device, then 5 MiB of files: a few MiB stored in scattered places,
# holes everywhere else. Under a du-style st_blocks, cp would take it for a sparse
# file and copy it with SEEK_DATA, read and write.
need_loop
ctl volume create SP --size 1G >/dev/null
loop_attach LOOP "$V/SP"
mkfs.ext4 -q -F "$LOOP" || fail "mkfs.ext4 on $LOOP failed"
mkdir -p "$T/sp"
mount "$LOOP" "$T/sp" || fail "mounting SP's ext4 failed"
head -c $((2 << 20)) /dev/urandom >"$T/sp/f1"
mkdir "$T/sp/d" && head -c $((3 << 20)) /dev/urandom >"$T/sp/d/f2"
umount "$T/sp" || fail "unmounting SP's ext4 failed"
loop_detach "$LOOP"
sp_stored="$(volume_stored_bytes SP)"
log "SP stores $sp_stored bytes of 1 GiB; stat shows $(stat -c '%b blocks, %s bytes' "$V/SP")"
((sp_stored >= 4 << 20 && sp_stored < 64 << 20)) || fail "SP stores $sp_stored bytes"
shows_full_size "$V/SP"
jctl gc >/dev/null
live_s0="$(store_field LiveBytes)"
seg_s0="$(store_field SegmentBytes)"
du_s0="$(du -sb "$STORE" | cut -f1)"
t0=$(now_ms)
cp_traced SP SP2 --reflink=auto
ms_sp=$(($(now_ms) - t0))
live_s1="$(store_field LiveBytes)"
seg_s1="$(store_field SegmentBytes)"
du_s1="$(du -sb "$STORE" | cut -f1)"
log "cp --reflink=auto of SP: $ms_sp ms; LiveBytes +$((live_s1 - live_s0)), SegmentBytes +$((seg_s1 - seg_s0)), store directory +$((du_s1 - du_s0)) bytes"
is_clone_of SP2 SP
((live_s1 == live_s0)) || fail "the clone of SP changed LiveBytes: $live_s0 -> $live_s1"
((seg_s1 - seg_s0 < 1 << 20)) || fail "the clone of SP grew the segments by $((seg_s1 - seg_s0)) bytes"
((du_s1 - du_s0 < 1 << 20)) || fail "the clone of SP grew the store directory by $((du_s1 - du_s0)) bytes"
((ms_sp < 3000)) || fail "cp of SP as a clone took $ms_sp ms"
cmp "$V/SP" "$V/SP2" || fail "SP2 differs from SP"

step "6 GiB volume: the kernel splits the copy at 4 GiB; the rest is already in place"
ctl volume create L --size 6G >/dev/null
head -c $((32 << 20)) /dev/urandom >"$W/l1"
head -c $((32 << 20)) /dev/urandom >"$W/l2"
put_bytes "$V/L" $((1 << 20)) "$W/l1"
put_bytes "$V/L" $(((5 << 30) + 12345)) "$W/l2"
# L stores 64 MiB of 6 GiB, yet shows its full size in st_blocks, so plain cp hands it all to
# copy_file_range.
shows_full_size "$V/L"
timed_cp ms_l --reflink=auto "$V/L" "$V/L2"
log "cp --reflink=auto of a 6 GiB volume storing 64 MiB: $ms_l ms"
((ms_l < 3000)) || fail "cp of the 6 GiB volume took $ms_l ms"
is_clone_of L2 L
[[ "$(stat -c %s "$V/L2")" == $((6 << 30)) ]] || fail "L2 has the wrong size"
cmp -n $((34 << 20)) "$V/L" "$V/L2" || fail "L2 differs from L in its first 34 MiB"
cmp -i $(((5 << 30) - (1 << 20))) -n $((40 << 20)) "$V/L" "$V/L2" || fail "L2 differs from L past 5 GiB"
cmp -i $(((5 << 30) + 12345)):0 -n $((32 << 20)) "$V/L2" "$W/l2" || fail "L2 lacks L's data past 5 GiB"

# --- crash ------------------------------------------------------------------------------------

step "kill -9 right after cp over a volume with data: the clone survives, nothing old shows"
ctl volume create E --size 16M >/dev/null
head -c $((16 << 20)) /dev/urandom >"$W/e-old"
put_bytes "$V/E" 0 "$W/e-old"
cp "$V/A" "$V/E" || fail "cp A E failed"
is_clone_of E A
head -c $((1 << 20)) /dev/urandom >"$W/p3"
put_bytes "$V/A" $((30 << 20)) "$W/p3"  # after the clone: E must not see it
cp "$W/a" "$W/e"
put_bytes "$W/a" $((30 << 20)) "$W/p3"
kill9_store "$STORE" "$M"
mount_store "$STORE" "$M"
same "$V/E" "$W/e" "E after kill -9 and recovery"
same "$V/A" "$W/a" "A after kill -9 and recovery"
same "$V/B" "$W/b" "B after kill -9 and recovery"
same "$V/C" "$W/c" "C after kill -9 and recovery"

# --- the clone quota ------------------------------------------------------------------------

step "the 16th clone of a lineage: cp makes a full independent copy instead"
# A's lineage: B, C, D, E (cp) and R (restore). Ten more clones fill the quota of 15.
for i in $(seq 1 10); do jctl volume clone A "q$i" >/dev/null; done
live_q="$(store_field LiveBytes)"
cp "$V/A" "$V/X" || fail "cp A X (the 16th clone) failed"
same "$V/X" "$W/a" "X (a byte copy because the quota is full)"
is_independent X
grew=$(($(store_field LiveBytes) - live_q))
((grew >= 60 << 20)) || fail "X should hold its own 64 MiB, LiveBytes grew by $grew"
grep -q "copy of A into X: no copy-on-write clone (CloneQuotaExceeded" "$T"/clonefs.*.log ||
  fail "the daemon did not log the quota refusal for X"
ctl volume clone A q11 >"$T/out" 2>&1 && fail "a 16th clone with clonectl succeeded"
grep -q CloneQuotaExceeded "$T/out" || fail "clonectl volume clone A q11: $(cat "$T/out")"
same "$V/q10" "$W/a" "q10"

step "remount: every copy reads back"
unmount_store "$STORE" "$M"
mount_store "$STORE" "$M"
same "$V/A" "$W/a" "A after remount"
same "$V/B" "$W/b" "B after remount"
same "$V/E" "$W/e" "E after remount"
same "$V/X" "$W/a" "X after remount"
same "$V/R" "$S/snapA" "R after remount"
cmp "$V/G" "$V/G2" || fail "G2 differs from G after remount"
cmp "$V/SP" "$V/SP2" || fail "SP2 differs from SP after remount"
unmount_store "$STORE" "$M"

# --- -o sparse_blocks -----------------------------------------------------------------------

step "-o sparse_blocks: st_blocks (du) show what a volume stores; cp still copies it right"
MOUNT_OPTS=sparse_blocks mount_store "$STORE" "$M"
read -r sp_blocks sp_size < <(stat -c '%b %s' "$V/SP")
log "under sparse_blocks SP shows $sp_blocks blocks for $sp_size bytes; du says $(du -h "$V/SP" | cut -f1)"
((sp_blocks * 512 >= sp_stored && sp_blocks * 512 < sp_stored + (1 << 20))) ||
  fail "SP shows $sp_blocks blocks, but stores $sp_stored bytes"
shows_full_size "$S/snapA"  # a snapshot cannot tell what it alone holds: still its full size
# SP now looks sparse, so cp copies it as a sparse file (SEEK_DATA, read, write, holes): no
# clone, but the same bytes.
cp --reflink=auto "$V/SP" "$V/SP3" || fail "cp --reflink=auto SP SP3 failed"
cmp "$V/SP" "$V/SP3" || fail "SP3 (cp under sparse_blocks) differs from SP"
if [[ -n "$(vol_field SP3 SourceVolumeIdentifier)" ]]; then
  log "SP3 became a clone of SP: cp used copy_file_range anyway"
else
  log "SP3 is a byte copy of SP: $(volume_stored_bytes SP3) bytes stored"
fi
# --sparse=never keeps cp from looking for holes: the clone again.
cp_traced SP SP4 --reflink=auto --sparse=never
is_clone_of SP4 SP
cmp "$V/SP" "$V/SP4" || fail "SP4 differs from SP"
assert_no_corruption
unmount_store "$STORE" "$M"
