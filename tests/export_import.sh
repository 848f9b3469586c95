#!/usr/bin/env bash
# Snapshot export streams (clonefs-export) between stores A (us-east-1), B and C (eu-west-1),
# with no daemon (each command opens the store) and through running daemons (the file or pipe
# is passed to the daemon):
#
#  1. full round trips: direct mode to a file, and daemon to daemon through a pipe; the images
#     are identical (through the mounts, and restored into a volume)
#  2. a full export and three incrementals (overwrites, writes into holes, punched holes,
#     zeros written, a resize) imported as a chain with --base: every level byte-identical to
#     its source; the last one independent of the ones before it
#  3. encrypted snapshots: no export without --recipient; sealed for B's RSA_3072 and X25519
#     keys they import into B, encrypted under --kms-key (or B's default key); the same stream
#     is refused by C and by A (not the recipient) leaving nothing; a bad or missing PEM
#  4. malformed streams (truncated at many offsets, a flipped byte in the header, a chunk
#     length, the middle and the end, chunks swapped, repeated or dropped, bytes appended,
#     streams spliced from two exports of one snapshot, another version, garbage, wrong or
#     missing --base, --base for a full stream), through the daemon and in direct mode: each
#     refused with exit 1, no snapshot left, the name still free, no bytes left after gc
#  5. --to - on a terminal refused; exports of a missing snapshot or base leave no file; an
#     export to a character device leaves the device; --compress shrinks compressible data
#     and imports to the same image
#
# Usage: export_import.sh CLONEFS CLONECTL CLONEFS_EXPORT
source "$(dirname "$0")/lib.sh"
t_init "$@"
[[ $# -ge 3 ]] || fail "usage: $0 CLONEFS CLONECTL CLONEFS_EXPORT"
EXPORT_BIN="$(realpath "$3")"
[[ -x "$EXPORT_BIN" ]] || fail "not executable: $EXPORT_BIN"
command -v jq >/dev/null || fail "jq not found (apt-get install jq)"
command -v script >/dev/null || fail "script not found (apt-get install bsdutils)"

SA="$T/a"  # us-east-1
SB="$T/b"  # eu-west-1
SC="$T/c"  # eu-west-1, never mounted
MA="$T/ma"
MB="$T/mb"
W="$T/streams"
mkdir -p "$W"
MIB=$((1 << 20))

# --- helpers ------------------------------------------------------------------------------

xa() { "$EXPORT_BIN" --store "$SA" "$@"; }
xb() { "$EXPORT_BIN" --store "$SB" "$@"; }
xc() { "$EXPORT_BIN" --store "$SC" "$@"; }
ca() { "$CLONECTL" --store "$SA" "$@"; }
cb() { "$CLONECTL" --store "$SB" "$@"; }

size_of() { stat -c %s "$1"; }
snap_list() { "$CLONECTL" --store "$1" --json snapshot list | jq -cS .; }

# ok STORE ARGS...: clonefs-export --store STORE ARGS must succeed (its stderr kept in $T/x.err).
ok() {
  local store=$1
  shift
  "$EXPORT_BIN" --store "$store" "$@" >"$T/x.out" 2>"$T/x.err" ||
    fail "clonefs-export --store $store $* failed: $(cat "$T/x.err" "$T/x.out")"
}

# name_free STORE NAME: no snapshot of that name.
name_free() {
  local rc=0
  "$CLONECTL" --store "$1" snapshot show "$2" >/dev/null 2>"$T/free.err" || rc=$?
  if ((rc != 1)) || ! grep -q "SnapshotNotFound" "$T/free.err"; then
    fail "snapshot $2 exists in $1 (or show failed otherwise): $(cat "$T/free.err")"
  fi
}

# x_refused CODE STORE TARGET ARGS...: clonefs-export --store STORE ARGS must exit 1 with
# "clonefs-export: CODE: " on stderr (CODE: an extended regex), print nothing on stdout, leave
# the snapshot list of STORE as it was and TARGET free (an import's name; "-" for none).
x_refused() {
  local code=$1 store=$2 target=$3 rc=0 before after
  shift 3
  before="$(snap_list "$store")"
  "$EXPORT_BIN" --store "$store" "$@" >"$T/refused.out" 2>"$T/refused.err" || rc=$?
  ((rc == 1)) || fail "clonefs-export $*: expected exit 1 ($code), got $rc: $(cat "$T/refused.err")"
  grep -Eq "^clonefs-export: ($code): " "$T/refused.err" ||
    fail "clonefs-export $*: expected $code, got: $(cat "$T/refused.err")"
  [[ ! -s "$T/refused.out" ]] || fail "clonefs-export $*: refused but printed on stdout: $(head -c 300 "$T/refused.out")"
  after="$(snap_list "$store")"
  [[ "$after" == "$before" ]] || fail "clonefs-export $*: refused, but the snapshot list changed:
before: $before
after:  $after"
  [[ "$target" == - ]] || name_free "$store" "$target"
  log "refused: ${*:1:3}...: $(cut -c1-150 "$T/refused.err")"
}

# defer_fail MESSAGE: a failure reported (and failing the test) at the end, so that the steps
# after it still run.
declare -a DEFERRED=()
defer_fail() {
  printf '[%s] FAIL (reported at the end): %s\n' "$TEST_NAME" "$*" >&2
  DEFERRED+=("$*")
}

# put VOLUME_FILE OFFSET_MIB MIB SOURCE: writes MIB MiB from SOURCE (urandom, zero or text).
put() {
  local src=/dev/urandom
  case "$4" in
    zero) src=/dev/zero ;;
    text) src="$T/text.bin" ;;
  esac
  dd if="$src" of="$1" bs=1M seek="$2" count="$3" iflag=fullblock conv=notrunc,fsync status=none ||
    fail "writing $3 MiB at $2 MiB into $1 failed"
}

# stream.py: damages export streams at the level of the format in docs/FORMAT.md (magic,
# u32 header length HL, header, chunks of u32 length + sealed bytes; the header ends at 12+HL).
#   stream.py layout SRC                 prints "SIZE HL CHUNKS"
#   stream.py make SRC OTHER DIR <SPECS  writes DIR/bad.NAME for each line "NAME OP ARGS..."
# OP: cut OFFSET | flip OFFSET (xor 0x5a) | swap I J | drop I | repeat I | append N (junk) |
# appendlast | boundary I (cut after chunk I) | splice K (SRC's header and chunks before K,
# OTHER's from K on) | headswap (OTHER's header, SRC's chunks) | setu16 OFFSET V | setu32 OFFSET V
cat >"$T/stream.py" <<'EOF'
import struct, sys


def parse(path):
    d = open(path, "rb").read()
    assert d[:8] == b"CLFSEXP1", path
    (hl,) = struct.unpack_from("<I", d, 8)
    head, off, chunks = d[:12 + hl], 12 + hl, []
    while off < len(d):
        (n,) = struct.unpack_from("<I", d, off)
        chunks.append(d[off:off + 4 + n])
        off += 4 + n
    assert off == len(d), "trailing bytes in " + path
    return d, hl, head, chunks


def damaged(op, a, d, head, chunks, ohead, ochunks):
    if op == "cut":
        return d[:a[0]]
    if op == "flip":
        b = bytearray(d)
        b[a[0]] ^= 0x5A
        return bytes(b)
    if op == "swap":
        c = list(chunks)
        c[a[0]], c[a[1]] = c[a[1]], c[a[0]]
        return head + b"".join(c)
    if op == "drop":
        c = list(chunks)
        del c[a[0]]
        return head + b"".join(c)
    if op == "repeat":
        c = list(chunks)
        c.insert(a[0], c[a[0]])
        return head + b"".join(c)
    if op == "append":
        return d + bytes((i * 7 + 3) % 256 for i in range(a[0]))
    if op == "appendlast":
        return d + chunks[-1]
    if op == "boundary":
        return head + b"".join(chunks[:a[0] + 1])
    if op == "splice":
        return head + b"".join(chunks[:a[0]]) + b"".join(ochunks[a[0]:])
    if op == "headswap":
        return ohead + b"".join(chunks)
    if op in ("setu16", "setu32"):
        b = bytearray(d)
        struct.pack_into("<H" if op == "setu16" else "<I", b, a[0], a[1])
        return bytes(b)
    sys.exit("unknown operation " + op)


d, hl, head, chunks = parse(sys.argv[2])
if sys.argv[1] == "layout":
    print(len(d), hl, len(chunks))
    sys.exit(0)
_, _, ohead, ochunks = parse(sys.argv[3])
for line in sys.stdin:
    if not line.strip():
        continue
    name, op, *args = line.split()
    out = damaged(op, [int(x) for x in args], d, head, chunks, ohead, ochunks)
    assert out != d, name + " does not change the stream"
    open("%s/bad.%s" % (sys.argv[4], name), "wb").write(out)
EOF
sx() { python3 "$T/stream.py" "$@" || fail "stream.py $* failed"; }

# --- setup ----------------------------------------------------------------------------------

step "store A (us-east-1): a volume with four snapshots s0..s3, an encrypted one, compressible data"
new_store "$SA" us-east-1
new_store "$SB" eu-west-1
new_store "$SC" eu-west-1
ACC_A="$(jc "$SA" store info | jq -r .AccountId)"
ARN_A="arn:clonefs:us-east-1:$ACC_A:snapshot"
python3 -c "
import sys
sys.stdout.write(''.join('line %08d of compressible clonefs export test data\n' % i for i in range(700000)))" >"$T/text.bin"
mount_store "$SA" "$MA"
V="$MA/volumes/v"
ca volume create v --size 128M >/dev/null
put "$V" 0 24 urandom
put "$V" 32 4 text
put "$V" 40 2 zero
put "$V" 120 4 urandom
jc "$SA" snapshot create v s0 >/dev/null
put "$V" 2 1 urandom   # overwrite
put "$V" 60 1 urandom  # into a hole
jc "$SA" snapshot create v s1 >/dev/null
fallocate -p -o $((8 * MIB)) -l $((2 * MIB)) "$V" || fail "punching a hole into the volume failed"
put "$V" 16 1 zero     # zeros over data
dd if=/dev/urandom of="$V" bs=4096 seek=$((33 * 256 + 5)) count=16 conv=notrunc,fsync status=none
jc "$SA" snapshot create v s2 >/dev/null
jc "$SA" volume resize v --size 160M >/dev/null
put "$V" 150 1 urandom  # in the grown part
dd if=/dev/urandom of="$V" bs=4096 count=1 conv=notrunc,fsync status=none
jc "$SA" snapshot create v s3 >/dev/null
declare -A SUM
for s in s0 s1 s2 s3; do SUM[$s]="$(sum_of "$MA/snapshots/$s")"; done
for a in s0 s1 s2; do
  for b in s1 s2 s3; do
    [[ $a == "$b" || "${SUM[$a]}" != "${SUM[$b]}" ]] || fail "snapshots $a and $b are equal: the changes between them were lost"
  done
done
[[ "$(size_of "$MA/snapshots/s3")" == $((160 * MIB)) ]] || fail "s3 is not 160 MiB"
jc "$SA" key create --alias ka >/dev/null
ca volume create ve --size 64M --kms-key ka >/dev/null
put "$MA/volumes/ve" 0 12 urandom
put "$MA/volumes/ve" 40 1 text
jc "$SA" snapshot create ve se --tag kind=encrypted >/dev/null
SE_SUM="$(sum_of "$MA/snapshots/se")"
ca volume create vc --size 64M >/dev/null
put "$MA/volumes/vc" 0 32 text
jc "$SA" snapshot create vc sc >/dev/null
ca volume create vm --size 32M >/dev/null
put "$MA/volumes/vm" 0 12 urandom
put "$MA/volumes/vm" 20 2 text
jc "$SA" snapshot create vm sm >/dev/null
SM_SUM="$(sum_of "$MA/snapshots/sm")"
unmount_store "$SA" "$MA"

# --- 1 ----------------------------------------------------------------------------------------

step "1. round trip without daemons: export s0 to a file, import it into B"
ok "$SA" export s0 --to "$W/s0.full"
log "$(cat "$T/x.err") -> $(size_of "$W/s0.full") bytes"
[[ "$(stat -c %a "$W/s0.full")" == 600 ]] || fail "the stream file is not mode 0600"
ok "$SB" import d0 --from "$W/s0.full" --tag via=file
j="$(show "$SB" d0)"
[[ "$(jq -r '.Status + " " + .SourceSnapshotArn + " " + (.SizeBytes | tostring)' <<<"$j")" == "available $ARN_A:s0 $((128 * MIB))" ]] ||
  fail "imported d0: $j"
[[ "$(jq -r '[.TagList[] | .Key + "=" + .Value] | join(",")' <<<"$j")" == via=file ]] || fail "d0's tags: $j"
[[ "$(jq -r .SnapshotArn <<<"$j")" == arn:clonefs:eu-west-1:*:snapshot:d0 ]] || fail "d0's ARN: $j"

step "2. (direct mode) s0 full and s1 --since s0; imported as t0 and t1 --base t0"
ok "$SA" export s1 --since s0 --to "$W/s1.inc"
log "s1 --since s0: $(cat "$T/x.err") -> $(size_of "$W/s1.inc") bytes"
grep -q "(incremental)" "$T/x.err" || fail "export --since does not say it is incremental: $(cat "$T/x.err")"
(($(size_of "$W/s1.inc") < $(size_of "$W/s0.full") / 4)) || fail "the incremental is not much smaller than the full stream"
ok "$SB" import t0 --from "$W/s0.full"
ok "$SB" import t1 --from "$W/s1.inc" --base t0

step "4. (direct mode) malformed streams into B without a daemon"
ok "$SA" export sm --to "$W/sm.a"
ok "$SA" export sm --to "$W/sm.b"
read -r SM_SIZE SM_HL SM_CHUNKS <<<"$(sx layout "$W/sm.a")"
HEND=$((12 + SM_HL))  # where the header ends and chunk 0 starts
log "sm's stream: $SM_SIZE bytes, a header of $SM_HL bytes, $SM_CHUNKS chunks"
((SM_CHUNKS >= 8)) || fail "sm's stream has only $SM_CHUNKS chunks"
cmp -s "$W/sm.a" "$W/sm.b" && fail "two exports of one snapshot are byte-identical (no fresh stream key)"
sx make "$W/sm.a" "$W/sm.b" "$W" <<EOF
cut-mid cut $((SM_SIZE / 2))
flip-mid flip $((SM_SIZE / 2))
splice splice $((SM_CHUNKS / 2))
EOF
for b in cut-mid flip-mid splice; do
  x_refused '[A-Za-z]+' "$SB" "bad-$b" import "bad-$b" --from "$W/bad.$b"
done

# --- mounted from here on -----------------------------------------------------------------------

step "1. images identical through the mounts; restored into a volume too"
mount_store "$SA" "$MA"
mount_store "$SB" "$MB"
[[ "$(sum_of "$MB/snapshots/d0")" == "${SUM[s0]}" ]] || fail "d0 (imported without daemons) differs from s0"
cmp "$MA/snapshots/s0" "$MB/snapshots/d0" || fail "d0 differs from s0 (cmp)"
jc "$SB" volume restore d0 r0 >/dev/null
cmp "$MA/snapshots/s0" "$MB/volumes/r0" || fail "the volume restored from d0 differs from s0"

step "1. through both daemons: export --to - | import --from -"
set +e
xa export s0 --to - 2>"$T/pipe.export.err" | xb import p0 --from - >"$T/pipe.import.out" 2>"$T/pipe.import.err"
rcs=("${PIPESTATUS[@]}")
set -e
[[ "${rcs[*]}" == "0 0" ]] ||
  fail "pipe: export exit ${rcs[0]}, import exit ${rcs[1]}: $(cat "$T/pipe.export.err" "$T/pipe.import.err")"
log "pipe: $(cat "$T/pipe.export.err")"
grep -q "command=snapshot.export" "$T"/clonefs.*.log || fail "the export did not go through A's daemon"
grep -q "command=snapshot.import" "$T"/clonefs.*.log || fail "the import did not go through B's daemon"
cmp "$MA/snapshots/s0" "$MB/snapshots/p0" || fail "p0 (through a pipe) differs from s0"

step "2. (daemons) s2 --since s1 to a file, s3 --since s2 through a pipe; the chain t0..t3"
ok "$SA" export s2 --since s1 --to "$W/s2.inc"
log "s2 --since s1: $(cat "$T/x.err")"
ok "$SB" import t2 --from "$W/s2.inc" --base t1
set +e
xa export s3 --since s2 --to - 2>"$T/pipe.export.err" | xb import t3 --from - --base t2 >/dev/null 2>"$T/pipe.import.err"
rcs=("${PIPESTATUS[@]}")
set -e
[[ "${rcs[*]}" == "0 0" ]] || fail "incremental pipe: exits ${rcs[*]}: $(cat "$T/pipe.export.err" "$T/pipe.import.err")"
log "s3 --since s2 through the pipe: $(cat "$T/pipe.export.err")"
for i in 0 1 2 3; do
  [[ "$(sum_of "$MB/snapshots/t$i")" == "${SUM[s$i]}" ]] || fail "t$i differs from s$i"
  [[ "$(show "$SB" "t$i" | jq -r .SourceSnapshotArn)" == "$ARN_A:s$i" ]] || fail "t$i: SourceSnapshotArn"
done
cmp "$MA/snapshots/s3" "$MB/snapshots/t3" || fail "t3 differs from s3 (cmp)"
[[ "$(size_of "$MB/snapshots/t3")" == $((160 * MIB)) ]] || fail "t3 is not 160 MiB (the resize of s3)"
log "t0..t3 are byte-identical to s0..s3"
# The last of the chain depends on none before it.
for i in 0 1 2; do jc "$SB" snapshot delete "t$i" >/dev/null; done
jc "$SB" gc >/dev/null
[[ "$(sum_of "$MB/snapshots/t3")" == "${SUM[s3]}" ]] || fail "t3 changed when t0..t2 were deleted"
jc "$SB" volume restore t3 r3 >/dev/null
cmp "$MA/snapshots/s3" "$MB/volumes/r3" || fail "the volume restored from t3 differs from s3"

# --- 3 ----------------------------------------------------------------------------------------

step "3. encrypted snapshots: no export without --recipient"
jc "$SA" snapshot create ve se-now >/dev/null  # taken by this daemon
x_refused InvalidParameterCombination "$SA" - export se-now --to "$W/se-now.plain"
[[ ! -e "$W/se-now.plain" ]] || fail "a refused export left $W/se-now.plain"
# se was taken before A's daemon was restarted.
rc=0
xa export se --to "$W/se.plain" >/dev/null 2>"$T/se.err" || rc=$?
if ((rc != 1)) || ! grep -q "^clonefs-export: InvalidParameterCombination: " "$T/se.err" || [[ -e "$W/se.plain" ]]; then
  defer_fail "an encrypted snapshot taken before the daemon started was exported without --recipient (exit $rc, $(size_of "$W/se.plain" 2>/dev/null || echo no) bytes written): $(cat "$T/se.err")"
  if [[ -e "$W/se.plain" ]]; then
    rc=0
    xc import leak --from "$W/se.plain" >/dev/null 2>&1 || rc=$?
    ((rc != 0)) || defer_fail "that stream imports into any store (C, unencrypted: $("$CLONECTL" --store "$SC" --json snapshot show leak | jq -c '{StorageEncrypted}'))"
    rm -f "$W/se.plain"
  fi
fi

step "3. sealed for B's RSA_3072 and X25519 keys: imported into B, encrypted under --kms-key"
KB="$(jc "$SB" key create --alias kb | jq -r .Arn)"
jc "$SB" key create --alias rsa --key-spec RSA_3072 >/dev/null
jc "$SB" key create --alias x25519 --key-spec X25519 >/dev/null
cb key get-public-key rsa --out "$W/b-rsa.pem" >/dev/null
cb key get-public-key x25519 --out "$W/b-x25519.pem" >/dev/null
grep -q "BEGIN PUBLIC KEY" "$W/b-rsa.pem" || fail "no PEM in $W/b-rsa.pem"
ok "$SA" export se --recipient "$W/b-rsa.pem" --to "$W/se.rsa"
ok "$SB" import e-rsa --from "$W/se.rsa" --kms-key kb
set +e
xa export se --recipient "$W/b-x25519.pem" --to - 2>"$T/pipe.export.err" |
  xb import e-x --from - --kms-key kb >/dev/null 2>"$T/pipe.import.err"
rcs=("${PIPESTATUS[@]}")
set -e
[[ "${rcs[*]}" == "0 0" ]] || fail "X25519 pipe: exits ${rcs[*]}: $(cat "$T/pipe.export.err" "$T/pipe.import.err")"
for e in e-rsa e-x; do
  j="$(show "$SB" "$e")"
  [[ "$(jq -r '(.StorageEncrypted | tostring) + " " + .KmsKeyId' <<<"$j")" == "true $KB" ]] ||
    fail "$e is not encrypted under B's key kb: $j"
  cmp "$MA/snapshots/se" "$MB/snapshots/$e" || fail "$e differs from se"
done
# Without --kms-key an encrypted source stays encrypted (under B's default key).
ok "$SA" export se-now --recipient "$W/b-rsa.pem" --to "$W/se-now.rsa"
ok "$SB" import e-default --from "$W/se-now.rsa"
j="$(show "$SB" e-default)"
[[ "$(jq -r .StorageEncrypted <<<"$j")" == true ]] || fail "an encrypted snapshot imported without --kms-key is not encrypted: $j"
[[ "$(sum_of "$MB/snapshots/e-default")" == "$SE_SUM" ]] || fail "e-default differs from se"
log "e-rsa, e-x (under kb) and e-default (under $(jq -r .KmsKeyId <<<"$j")) read as se"
ok "$SB" import e-default-old --from "$W/se.rsa"
j="$(show "$SB" e-default-old)"
[[ "$(jq -r .StorageEncrypted <<<"$j")" == true ]] ||
  defer_fail "the encrypted snapshot se (taken before the daemon started), exported to B's RSA key and imported without --kms-key, is not encrypted: the stream says its source is unencrypted"

step "3. the stream sealed for B is refused by C and by A; nothing is left"
x_refused NotFoundException "$SC" e-c import e-c --from "$W/se.rsa"
grep -q "recipient" "$T/refused.err" || fail "C's refusal does not say it is not the recipient: $(cat "$T/refused.err")"
x_refused NotFoundException "$SA" e-a import e-a --from "$W/se.rsa"
ok "$SA" export s1 --recipient "$W/b-x25519.pem" --to "$W/s1.sealed"
x_refused NotFoundException "$SC" s1-c import s1-c --from "$W/s1.sealed"
ok "$SB" import s1-sealed --from "$W/s1.sealed"
[[ "$(show "$SB" s1-sealed | jq -r .StorageEncrypted)" == false ]] || fail "an unencrypted snapshot sealed for B imports encrypted"
[[ "$(sum_of "$MB/snapshots/s1-sealed")" == "${SUM[s1]}" ]] || fail "s1-sealed differs from s1"
x_refused InvalidKeyUsageException "$SB" e-bad import e-bad --from "$W/se.rsa" --kms-key rsa
echo "not a key" >"$W/bad.pem"
x_refused InvalidParameterValue "$SA" - export se --recipient "$W/bad.pem" --to "$W/se.badpem"
[[ ! -e "$W/se.badpem" ]] || fail "an export refused for a bad PEM left its file"
rc=0
xa export se --recipient "$W/missing.pem" --to "$W/se.nopem" >/dev/null 2>"$T/nopem.err" || rc=$?
((rc == 1)) || fail "an export with a missing --recipient file exited $rc"
[[ ! -e "$W/se.nopem" ]] || fail "an export refused for a missing PEM left its file"
grep -q "missing.pem" "$T/nopem.err" ||
  defer_fail "a missing --recipient file is reported without naming it: $(cat "$T/nopem.err")"

# --- 4 ----------------------------------------------------------------------------------------

step "4. malformed streams into B through its daemon: each refused, nothing left"
jc "$SB" gc >/dev/null
LB0="$(live_bytes "$SB")"
VOLS0="$(jc "$SB" volume list | jq -c '[.Volumes[].VolumeIdentifier]')"
last=$((SM_SIZE - 1))
declare -a CASES=(
  "cut-0 cut 0" "cut-5 cut 5" "cut-10 cut 10" "cut-header cut $((12 + SM_HL / 2))"
  "cut-after-header cut $HEND" "cut-chunk0-len cut $((HEND + 2))" "cut-chunk0 cut $((HEND + 1000))"
  "cut-end-1 cut $last" "cut-end-16 cut $((SM_SIZE - 16))" "cut-end-100 cut $((SM_SIZE - 100))"
  "flip-magic flip 3" "flip-header-len flip 9" "flip-version flip 12"
  "flip-volume-size flip $((12 + 33))" "flip-arn-length flip $((12 + 40))" "flip-arn flip $((12 + 50))"
  "flip-header-end flip $((HEND - 1))" "flip-chunk-len flip $((HEND + 1))"
  "flip-chunk0 flip $((HEND + 100))" "flip-end flip $last" "flip-end-20 flip $((SM_SIZE - 20))"
  "swap swap 1 2" "swap-last swap $((SM_CHUNKS - 2)) $((SM_CHUNKS - 1))" "drop drop 1"
  "drop-last drop $((SM_CHUNKS - 1))" "repeat repeat 2" "append append 100" "append-last appendlast"
  "version setu16 12 3" "header-len setu32 8 70000"
  "splice-1 splice 1" "splice-last splice $((SM_CHUNKS - 1))" "headswap headswap"
)
# Cut at chunk boundaries (every third, and just before the final chunk): no final chunk.
for ((i = 0; i < SM_CHUNKS - 1; i++)); do
  ((i % 3 == 0 || i == SM_CHUNKS - 2)) && CASES+=("boundary-$i boundary $i")
done
printf '%s\n' "${CASES[@]}" | sx make "$W/sm.a" "$W/sm.b" "$W"
head -c $MIB /dev/urandom >"$W/bad.garbage"
printf 'CLFSEXP1' >"$W/bad.magic-only"
CASES+=(garbage magic-only)
n=0
for c in "${CASES[@]}"; do
  read -r name _ <<<"$c"
  x_refused '[A-Za-z]+' "$SB" "bad-$name" import "bad-$name" --from "$W/bad.$name"
  n=$((n + 1))
done
x_refused InvalidParameterValue "$SB" bad-garbage import bad-garbage --from "$W/bad.garbage"
grep -q "not a clonefs export stream" "$T/refused.err" || fail "garbage: unclear error $(cat "$T/refused.err")"
log "$n malformed streams refused"

step "4. wrong, missing and superfluous --base; an existing or invalid name"
x_refused InvalidParameterCombination "$SB" t2b import t2b --from "$W/s2.inc" --base d0  # d0 is s0, not s1
x_refused InvalidParameterCombination "$SB" t2b import t2b --from "$W/s2.inc" --base p0
x_refused InvalidParameterCombination "$SB" t2b import t2b --from "$W/s2.inc"
x_refused InvalidParameterCombination "$SB" t2b import t2b --from "$W/s0.full" --base d0
x_refused SnapshotNotFound "$SB" t2b import t2b --from "$W/s1.inc" --base nosuch
x_refused SnapshotAlreadyExists "$SB" - import d0 --from "$W/s0.full"
rc=0
xb import from-missing --from "$W/missing.stream" >/dev/null 2>"$T/nofile.err" || rc=$?
((rc == 1)) || fail "an import from a missing file exited $rc"
name_free "$SB" from-missing
grep -q "missing.stream" "$T/nofile.err" ||
  defer_fail "an import from a missing --from file is reported without naming it: $(cat "$T/nofile.err")"
x_refused InvalidParameterValue "$SB" - import 9bad --from "$W/s0.full"
# A correct base that is not the first import of s0 works: p0 is s0 as well.
ok "$SB" import t1b --from "$W/s1.inc" --base p0
[[ "$(sum_of "$MB/snapshots/t1b")" == "${SUM[s1]}" ]] || fail "t1b (s1 on the base p0) differs from s1"
jc "$SB" snapshot delete t1b >/dev/null

step "4. nothing of the refused imports is left: volumes and, after gc, live bytes"
[[ "$(jc "$SB" volume list | jq -c '[.Volumes[].VolumeIdentifier]')" == "$VOLS0" ]] || fail "B's volumes changed"
jc "$SB" gc >/dev/null
LB1="$(live_bytes "$SB")"
log "B's live bytes: $LB0 before the malformed imports, $LB1 after (and gc)"
((LB1 <= LB0 + MIB)) || fail "refused imports left $(((LB1 - LB0) / MIB)) MiB behind in B"
# The good streams still import.
ok "$SB" import sm-good --from "$W/sm.a"
[[ "$(sum_of "$MB/snapshots/sm-good")" == "$SM_SUM" ]] || fail "sm-good differs from sm"

# --- 5 ----------------------------------------------------------------------------------------

step "5. --to - on a terminal; missing snapshot or base; a character device as --to"
rc=0
script -qec "$EXPORT_BIN --store $SA export s0 --to -" "$T/tty.log" </dev/null >/dev/null 2>&1 || rc=$?
((rc == 1)) || fail "export --to - on a terminal exited $rc: $(cat "$T/tty.log")"
grep -q "InvalidParameterValue.*terminal" "$T/tty.log" || fail "export --to - on a terminal: $(cat "$T/tty.log")"
! grep -q CLFSEXP1 "$T/tty.log" || fail "the stream went to the terminal"
log "terminal: $(grep '^clonefs-export:' "$T/tty.log" | tr -d '\r')"
x_refused SnapshotNotFound "$SA" - export nosuch --to "$W/nosuch.st"
[[ ! -e "$W/nosuch.st" ]] || fail "the export of a missing snapshot left $W/nosuch.st"
x_refused SnapshotNotFound "$SA" - export s1 --since nosuch --to "$W/nobase.st"
[[ ! -e "$W/nobase.st" ]] || fail "the export with a missing base left $W/nobase.st"
x_refused InvalidParameterCombination "$SA" - export s1 --since sc --to "$W/lineage.st"
[[ ! -e "$W/lineage.st" ]] || fail "the export with a base of another lineage left $W/lineage.st"
mknod "$W/nulldev" c 1 3
rc=0
xa export sm --to "$W/nulldev" >/dev/null 2>"$T/nulldev.err" || rc=$?
log "export --to a null device node: exit $rc $(cat "$T/nulldev.err")"
[[ -c "$W/nulldev" ]] ||
  defer_fail "an export to a character device (--to $W/nulldev, like /dev/null) deleted the device node: exit $rc, $(cat "$T/nulldev.err")"

step "5. --compress: a smaller stream for compressible data, the same image"
ok "$SA" export sc --to "$W/sc.plain"
ok "$SA" export sc --compress --to "$W/sc.zst"
log "sc: $(size_of "$W/sc.plain") bytes plain, $(size_of "$W/sc.zst") compressed"
(($(size_of "$W/sc.zst") * 4 < $(size_of "$W/sc.plain"))) || fail "--compress did not make the text stream 4x smaller"
ok "$SB" import sc-zst --from "$W/sc.zst"
cmp "$MA/snapshots/sc" "$MB/snapshots/sc-zst" || fail "the compressed import differs from sc"
ok "$SA" export s3 --since s2 --compress --to "$W/s3.inc.zst"
# t3 is s3, not s2: a wrong base; s1-sealed is s1, so s2 and then s3 apply to it.
x_refused InvalidParameterCombination "$SB" t3y import t3y --from "$W/s3.inc.zst" --base t3
ok "$SB" import t2z --from "$W/s2.inc" --base s1-sealed
ok "$SB" import t3z --from "$W/s3.inc.zst" --base t2z
[[ "$(sum_of "$MB/snapshots/t3z")" == "${SUM[s3]}" ]] || fail "t3z (a compressed incremental) differs from s3"

step "encrypted, without daemons: export se-now sealed for B's X25519 key, import it under kb"
unmount_store "$SB" "$MB"
unmount_store "$SA" "$MA"
ok "$SA" export se-now --recipient "$W/b-x25519.pem" --to "$W/se-now.x25519"
ok "$SB" import e-direct --from "$W/se-now.x25519" --kms-key kb
x_refused NotFoundException "$SC" e-direct import e-direct --from "$W/se-now.x25519"
[[ "$(show "$SB" e-direct | jq -r '(.StorageEncrypted | tostring) + " " + .KmsKeyId')" == "true $KB" ]] ||
  fail "e-direct is not encrypted under kb: $(show "$SB" e-direct)"
mount_store "$SB" "$MB"
[[ "$(sum_of "$MB/snapshots/e-direct")" == "$SE_SUM" ]] || fail "e-direct differs from se"
unmount_store "$SB" "$MB"

step "no corruption logged"
if ((${#DEFERRED[@]} > 0)); then
  fail "$(printf '%s\n' "${DEFERRED[@]}")"
fi
assert_no_corruption
