#!/usr/bin/env bash
# Snapshot copies within a region and across regions, through two daemons: store A in
# us-east-1 and store B in eu-west-1 on this host, known to each other through
# $CLONEFS_REGIONS (the inline list, later a regions file).
#
#  1. in-region copies of an encrypted snapshot: under the source's key and under another key
#     (KmsKeyId), byte-identical images, SourceSnapshotArn, full copies (live bytes grow), tags
#     only with --copy-tags, --tag adds; --wait shows progress; an unencrypted copy; a copy of a
#     copy
#  2. cross-region copies of an unencrypted and of an encrypted snapshot (under B's key),
#     identical across the two mounts
#  3. every refusal (bad target names, an existing target, a missing source, --kms-key with an
#     unencrypted source, an encrypted source from another region without --kms-key, a missing,
#     disabled or foreign key, a region not listed, a malformed ARN, another account's ARN, the
#     snapshot quota): exit 1, the error code on stderr, the snapshot list unchanged
#  4. seven copies at once: never more than 5 running, started in submission order, 5 running
#     and 2 queued seen; an existing copy in progress as target (SnapshotAlreadyExists) or
#     source (InvalidSnapshotState) refused meanwhile; all seven end identical
#  5. cancelling a running and a queued copy by deleting its target: nothing of them is left,
#     the names are free, live bytes come back
#  6. kill -9 of the destination daemon mid-copy (cross-region): after the remount the copy
#     starts again, completes, is identical, and the partial copy left no bytes behind
#  7. the source snapshot deleted (and gc run) mid-copy, in-region (a running and a queued
#     copy) and cross-region: the copies complete with the original content; a cross-region
#     copy whose source went while its daemon was killed shows Status failed with a message
#  8. PostgreSQL 15 on ext4 on an encrypted volume in us-east-1, snapshotted while running,
#     copied to eu-west-1, restored there: crash recovery, same rows, pg_amcheck clean
#  9. a clean unmount of both daemons while copies run: each exits 0; remounted, the copies
#     start again and complete, identical
#
# Usage: snapshot_copy.sh CLONEFS CLONECTL [CLONEFS_EXPORT]
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_pg.sh"
t_init "$@"
need_loop
pg_require
command -v jq >/dev/null || fail "jq not found (apt-get install jq)"
command -v b2sum >/dev/null || fail "b2sum not found (coreutils)"

SA="$T/a"  # store of us-east-1
SB="$T/b"  # store of eu-west-1
MA="$T/ma"
MB="$T/mb"
MIB=$((1 << 20))
export CLONEFS_REGIONS="us-east-1=$SA,eu-west-1=$SB"

# --- helpers ------------------------------------------------------------------------------

ca() { "$CLONECTL" --store "$SA" "$@"; }
cb() { "$CLONECTL" --store "$SB" "$@"; }

# tags_of JSON: the TagList as K=V,K=V.
tags_of() { jq -r '[.TagList[] | .Key + "=" + .Value] | join(",")' <<<"$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# state_of STORE NAME: "available", "failed", "queued" (copying, no PercentProgress yet),
# the percent done of a running copy, or "missing".
state_of() {
  local out
  out="$("$CLONECTL" --store "$1" --json snapshot show "$2" 2>"$T/state.err")" || {
    grep -q "SnapshotNotFound" "$T/state.err" && { echo missing; return; }
    fail "snapshot show $2 failed: $(cat "$T/state.err")"
  }
  jq -r 'if .Status == "copying" then (if has("PercentProgress") then (.PercentProgress | tostring) else "queued" end) else .Status end' <<<"$out"
}

# wait_available STORE NAME [TIMEOUT_S]: until the copy NAME is available; a failed copy or a
# timeout fails the test.
wait_available() {
  local store=$1 name=$2 deadline=$(($(date +%s) + ${3:-180})) st
  while :; do
    st="$(state_of "$store" "$name")"
    case "$st" in
      available) return 0 ;;
      failed) fail "copy $name failed: $(show "$store" "$name")" ;;
      missing) fail "copy $name vanished while waiting for it" ;;
    esac
    (($(date +%s) < deadline)) || fail "copy $name not available after ${3:-180} s (last state $st)"
    sleep 0.2
  done
}

# wait_running STORE NAME MIN: until the copy NAME runs with PercentProgress >= MIN (and < 100);
# fails if it completes first: then the test could not interrupt it.
wait_running() {
  local store=$1 name=$2 min=$3 deadline=$(($(date +%s) + 120)) st
  while :; do
    st="$(state_of "$store" "$name")"
    case "$st" in
      queued) ;;
      available | failed | missing) fail "copy $name is $st before it reached $min%: nothing was interrupted mid-copy" ;;
      *) ((st >= min && st < 100)) && { log "copy $name is at $st%"; return 0; } ;;
    esac
    (($(date +%s) < deadline)) || fail "copy $name did not reach $min% within 120 s (state $st)"
    sleep 0.05
  done
}

# same_image FILE1 FILE2 WHAT: byte for byte.
same_image() {
  cmp "$1" "$2" >"$T/cmp.out" 2>&1 || fail "$3: $2 differs from $1: $(cat "$T/cmp.out")"
}

# within ACTUAL EXPECTED SLACK WHAT: |ACTUAL - EXPECTED| <= SLACK (bytes).
within() {
  local d=$(($1 - $2))
  ((d < 0)) && d=$((-d))
  ((d <= $3)) || fail "$4: $1 bytes, expected $2 +- $3"
}

# refuse CODE STORE ARGS...: clonectl --store STORE ARGS must exit 1 with "clonectl: CODE: ..."
# on stderr, print nothing on stdout and leave the snapshot list as it was. With LOOSE=1 (copies
# are running, so progress moves) only the names in the list are compared.
refuse() {
  local code=$1 store=$2 rc=0 before after view='.'
  shift 2
  [[ ${LOOSE:-0} == 1 ]] && view='[.Snapshots[].SnapshotIdentifier] | sort'
  before="$("$CLONECTL" --store "$store" --json snapshot list | jq -cS "$view")"
  "$CLONECTL" --store "$store" "$@" >"$T/refuse.out" 2>"$T/refuse.err" || rc=$?
  ((rc == 1)) || fail "clonectl $*: expected exit 1 ($code), got $rc: $(cat "$T/refuse.err" "$T/refuse.out")"
  grep -q "^clonectl: $code: " "$T/refuse.err" || fail "clonectl $*: expected $code, got: $(cat "$T/refuse.err")"
  [[ ! -s "$T/refuse.out" ]] || fail "clonectl $*: refused but printed on stdout: $(cat "$T/refuse.out")"
  after="$("$CLONECTL" --store "$store" --json snapshot list | jq -cS "$view")"
  [[ "$after" == "$before" ]] || fail "clonectl $*: refused ($code) but the snapshot list changed:
before: $before
after:  $after"
  log "refused as $code: ${*:3}: $(cut -c1-160 "$T/refuse.err")"
}

# names_absent STORE MNT NAME...: no snapshot, copy or image file of these names.
names_absent() {
  local store=$1 mnt=$2 n list
  shift 2
  list="$(jc "$store" snapshot list | jq -r '.Snapshots[].SnapshotIdentifier')"
  for n in "$@"; do
    ! grep -qx "$n" <<<"$list" || fail "$n is still in the snapshot list of $store"
    [[ "$(state_of "$store" "$n")" == missing ]] || fail "snapshot show $n still finds it"
    [[ ! -e "$mnt/snapshots/$n" ]] || fail "$mnt/snapshots/$n still exists"
  done
}

# defer_fail MESSAGE: a failure that does not stop the test: reported, and the test fails, at
# the end (so that the steps after it still run).
declare -a DEFERRED=()
defer_fail() {
  printf '[%s] FAIL (reported at the end): %s\n' "$TEST_NAME" "$*" >&2
  DEFERRED+=("$*")
}

# clean_unmount STORE MNT: fusermount3 -u; the daemon must exit with status 0 (else a deferred
# failure: the steps after it check what a restart makes of the store).
clean_unmount() {
  local store=$1 mnt=$2 pid rc=0 logf
  pid="$(lock_pid "$store")"
  [[ -n "$pid" ]] || fail "no pid in $store/LOCK before unmount"
  fusermount3 -u "$mnt" || fail "fusermount3 -u $mnt failed"
  wait_gone "$pid" 120 || fail "daemon $pid did not exit within 120 s of fusermount3 -u"
  wait "$pid" 2>/dev/null || rc=$?
  flock -w 30 "$store/LOCK" true || fail "$store/LOCK still held after daemon $pid exited"
  if ((rc != 0)); then
    logf="$(grep -l "store $store open" "$T"/clonefs.*.log | sort -V | tail -n 1)"
    defer_fail "the daemon of $store exited with status $rc after fusermount3 -u while copies ran; its log ends:
$(tail -n 4 "$logf")"
  else
    log "unmounted $mnt (daemon $pid exited with 0)"
  fi
}

# fill VOLUME_FILE MIB [SEEK_MIB]: random data, durably.
fill() {
  dd if=/dev/urandom of="$1" bs=1M count="$2" seek="${3:-0}" conv=notrunc,fsync status=none ||
    fail "writing $2 MiB into $1 failed"
}

# --- setup ----------------------------------------------------------------------------------

step "two stores, us-east-1 and eu-west-1, each with its daemon; keys; source snapshots"
new_store "$SA" us-east-1
new_store "$SB" eu-west-1
mount_store "$SA" "$MA"
mount_store "$SB" "$MB"
ACC_A="$(jc "$SA" store info | jq -r .AccountId)"
ACC_B="$(jc "$SB" store info | jq -r .AccountId)"
[[ "$(jc "$SB" store info | jq -r .Region)" == eu-west-1 ]] || fail "store B is not in eu-west-1"
ARN_A="arn:clonefs:us-east-1:$ACC_A:snapshot"
ARN_B="arn:clonefs:eu-west-1:$ACC_B:snapshot"
KA="$(jc "$SA" key create --alias ka | jq -r .Arn)"
KB="$(jc "$SA" key create --alias kb | jq -r .Arn)"
jc "$SA" key create --alias kdis >/dev/null
jc "$SA" key disable kdis >/dev/null
KBE="$(jc "$SB" key create --alias kbe | jq -r .Arn)"
jc "$SB" key create --alias kbdis >/dev/null
jc "$SB" key disable kbdis >/dev/null
log "accounts: A $ACC_A, B $ACC_B; keys: ka $KA, kb $KB, B's kbe $KBE"
[[ "$KA" == arn:clonefs:us-east-1:"$ACC_A":key:* && "$KBE" == arn:clonefs:eu-west-1:"$ACC_B":key:* ]] ||
  fail "unexpected key ARNs: $KA $KBE"

# se: 384 MiB of random data in a 512 MiB encrypted volume (a hole at the end).
ca volume create enc --size 512M --kms-key ka >/dev/null
fill "$MA/volumes/enc" 384
jc "$SA" snapshot create enc se --tag env=prod --tag owner=dba >/dev/null
# sp: unencrypted, data with holes between.
ca volume create plain --size 256M >/dev/null
fill "$MA/volumes/plain" 64
fill "$MA/volumes/plain" 16 200
jc "$SA" snapshot create plain sp --tag tier=plain >/dev/null
SE_SUM="$(sum_of "$MA/snapshots/se")"
SP_SUM="$(sum_of "$MA/snapshots/sp")"
log "se (encrypted, 384 MiB of data): $SE_SUM"
log "sp (plain, 80 MiB of data):      $SP_SUM"

# --- 1 ----------------------------------------------------------------------------------------

step "1. in-region copy under the source's key: answered at once as copying, then identical"
L0="$(live_bytes "$SA")"
t0=$(now_ms)
ans="$(jc "$SA" snapshot copy se same-key)"
log "answered in $(($(now_ms) - t0)) ms: $(jq -c '{SnapshotIdentifier, Status, PercentProgress}' <<<"$ans")"
[[ "$(jq -r .Status <<<"$ans")" == copying ]] || fail "the copy's answer is not Status copying: $ans"
[[ "$(jq -r .SnapshotIdentifier <<<"$ans")" == same-key ]] || fail "the answer names another snapshot: $ans"
jq -e '(has("PercentProgress") | not) or (.PercentProgress | type == "number" and . < 100)' <<<"$ans" >/dev/null ||
  fail "a copy just accepted shows PercentProgress: $ans"
wait_available "$SA" same-key
j="$(show "$SA" same-key)"
[[ "$(jq -r .StorageEncrypted <<<"$j")" == true ]] || fail "the copy of an encrypted snapshot is not encrypted: $j"
[[ "$(jq -r .KmsKeyId <<<"$j")" == "$KA" ]] || fail "copy without --kms-key is not under the source's key $KA: $j"
[[ "$(jq -r .SourceSnapshotArn <<<"$j")" == "$ARN_A:se" ]] || fail "SourceSnapshotArn is not $ARN_A:se: $j"
[[ "$(jq -r .SnapshotArn <<<"$j")" == "$ARN_A:same-key" ]] || fail "wrong SnapshotArn: $j"
[[ "$(jq -r .PercentProgress <<<"$j")" == 100 ]] || fail "an available copy does not show 100%: $j"
[[ "$(jq -r .SizeBytes <<<"$j")" == $((512 * MIB)) ]] || fail "the copy's size differs: $j"
[[ -z "$(tags_of "$j")" ]] || fail "a copy without --copy-tags has tags: $(tags_of "$j")"
same_image "$MA/snapshots/se" "$MA/snapshots/same-key" "copy under the source's key"
L1="$(live_bytes "$SA")"
D_A=$((L1 - L0))  # what one copy of se stores: a full copy, not shared pages
log "live bytes grew by $((D_A / MIB)) MiB for the copy of 384 MiB of data"
((D_A >= 380 * MIB)) || fail "the copy stores only $((D_A / MIB)) MiB: not a full copy of 384 MiB"

step "1. in-region copy under another key (--kms-key kb --wait, progress on stderr)"
ca snapshot copy se new-key --kms-key kb --wait >"$T/wait.out" 2>"$T/wait.err" ||
  fail "copy --wait failed: $(cat "$T/wait.err")"
grep -q "^Status: *available" "$T/wait.out" || fail "copy --wait did not print the available copy: $(cat "$T/wait.out")"
grep -Eq '^copying to new-key: [0-9]+%$' "$T/wait.err" || fail "no 'copying to new-key: N%' line on stderr: $(cat "$T/wait.err")"
! grep -Ev '^copying to new-key: ([0-9]+%|queued)$' "$T/wait.err" ||
  fail "unexpected lines on stderr of copy --wait (see above)"
log "copy --wait printed $(wc -l <"$T/wait.err") progress lines, the last: $(tail -n 1 "$T/wait.err")"
j="$(show "$SA" new-key)"
[[ "$(jq -r .KmsKeyId <<<"$j")" == "$KB" ]] || fail "copy with --kms-key kb is not under $KB: $j"
[[ "$(jq -r .SourceSnapshotArn <<<"$j")" == "$ARN_A:se" ]] || fail "SourceSnapshotArn: $j"
same_image "$MA/snapshots/se" "$MA/snapshots/new-key" "copy under key kb"
# A copy under kb reads while the source's key is disabled: its pages really are under kb.
jc "$SA" key disable ka >/dev/null
[[ "$(sum_of "$MA/snapshots/new-key")" == "$SE_SUM" ]] || fail "the copy under kb does not read with ka disabled"
jc "$SA" key enable ka >/dev/null

step "1. tags: --copy-tags, --copy-tags with --tag, --tag alone"
jc "$SA" snapshot copy se with-tags --copy-tags >/dev/null
jc "$SA" snapshot copy se tags-plus --copy-tags --tag team=db --tag tier=gold >/dev/null
jc "$SA" snapshot copy se only-tag --tag only=this >/dev/null
for c in with-tags tags-plus only-tag; do wait_available "$SA" "$c"; done
[[ "$(tags_of "$(show "$SA" se)")" == "env=prod,owner=dba" ]] || fail "the source's tags changed"
[[ "$(tags_of "$(show "$SA" with-tags)")" == "env=prod,owner=dba" ]] ||
  fail "--copy-tags: tags $(tags_of "$(show "$SA" with-tags)")"
[[ "$(tags_of "$(show "$SA" tags-plus)")" == "env=prod,owner=dba,team=db,tier=gold" ]] ||
  fail "--copy-tags --tag: tags $(tags_of "$(show "$SA" tags-plus)")"
[[ "$(tags_of "$(show "$SA" only-tag)")" == "only=this" ]] ||
  fail "--tag without --copy-tags: tags $(tags_of "$(show "$SA" only-tag)")"
same_image "$MA/snapshots/se" "$MA/snapshots/tags-plus" "copy with tags"

step "1. an unencrypted copy, and a copy of a copy"
jc "$SA" snapshot copy sp plain-copy >/dev/null
wait_available "$SA" plain-copy
j="$(show "$SA" plain-copy)"
[[ "$(jq -r '.StorageEncrypted, has("KmsKeyId")' <<<"$j" | tr '\n' ' ')" == "false false " ]] ||
  fail "the copy of an unencrypted snapshot: $j"
same_image "$MA/snapshots/sp" "$MA/snapshots/plain-copy" "unencrypted copy"
jc "$SA" snapshot copy same-key copy-of-copy >/dev/null
wait_available "$SA" copy-of-copy
[[ "$(show "$SA" copy-of-copy | jq -r .SourceSnapshotArn)" == "$ARN_A:same-key" ]] || fail "copy of a copy: SourceSnapshotArn"
[[ "$(sum_of "$MA/snapshots/copy-of-copy")" == "$SE_SUM" ]] || fail "the copy of a copy differs from se"
for c in with-tags only-tag copy-of-copy; do jc "$SA" snapshot delete "$c" >/dev/null; done

# --- 2 ----------------------------------------------------------------------------------------

step "2. cross-region copies into eu-west-1: unencrypted, and encrypted under B's key"
LB0="$(live_bytes "$SB")"
cb snapshot copy "$ARN_A:sp" x-plain --wait >/dev/null 2>"$T/wait.err" || fail "cross-region copy of sp: $(cat "$T/wait.err")"
j="$(show "$SB" x-plain)"
[[ "$(jq -r .SnapshotArn <<<"$j")" == "$ARN_B:x-plain" ]] || fail "cross-region copy: SnapshotArn $j"
[[ "$(jq -r .SourceSnapshotArn <<<"$j")" == "$ARN_A:sp" ]] || fail "cross-region copy: SourceSnapshotArn $j"
[[ "$(jq -r .StorageEncrypted <<<"$j")" == false ]] || fail "cross-region copy of sp is encrypted: $j"
[[ -z "$(tags_of "$j")" ]] || fail "cross-region copy without --copy-tags has tags: $j"
same_image "$MA/snapshots/sp" "$MB/snapshots/x-plain" "cross-region unencrypted copy"
LB1="$(live_bytes "$SB")"
jc "$SB" snapshot copy "$ARN_A:se" x-enc --kms-key kbe --copy-tags >/dev/null
wait_available "$SB" x-enc
LB2="$(live_bytes "$SB")"
D_B=$((LB2 - LB1))  # what one copy of se stores in B
j="$(show "$SB" x-enc)"
[[ "$(jq -r .StorageEncrypted <<<"$j")" == true ]] || fail "cross-region copy of se is not encrypted: $j"
[[ "$(jq -r .KmsKeyId <<<"$j")" == "$KBE" ]] || fail "cross-region copy not under B's key $KBE: $j"
[[ "$(jq -r .SourceSnapshotArn <<<"$j")" == "$ARN_A:se" ]] || fail "cross-region copy: SourceSnapshotArn $j"
[[ "$(tags_of "$j")" == "env=prod,owner=dba" ]] || fail "cross-region --copy-tags: $(tags_of "$j")"
same_image "$MA/snapshots/se" "$MB/snapshots/x-enc" "cross-region encrypted copy"
log "B's live bytes: +$(((LB1 - LB0) / MIB)) MiB for x-plain, +$((D_B / MIB)) MiB for x-enc"
((D_B >= 380 * MIB)) || fail "the cross-region copy of se stores only $((D_B / MIB)) MiB"

# --- 3 ----------------------------------------------------------------------------------------

step "3. refusals in-region: every one exits 1 with its code and changes nothing"
refuse InvalidParameterValue "$SA" snapshot copy se 1copy
refuse InvalidParameterValue "$SA" snapshot copy se copy-
refuse InvalidParameterValue "$SA" snapshot copy se co--py
refuse InvalidParameterValue "$SA" snapshot copy se co_py
refuse InvalidParameterValue "$SA" snapshot copy se co.py
refuse InvalidParameterValue "$SA" snapshot copy se ""
refuse InvalidParameterValue "$SA" snapshot copy se "a$(printf 'b%.0s' {1..63})"
refuse SnapshotAlreadyExists "$SA" snapshot copy se same-key
refuse SnapshotAlreadyExists "$SA" snapshot copy sp se
refuse SnapshotNotFound "$SA" snapshot copy nosuch nc
refuse InvalidParameterCombination "$SA" snapshot copy sp nc --kms-key kb
refuse KMSKeyNotAccessible "$SA" snapshot copy se nc --kms-key nosuchkey
refuse KMSKeyNotAccessible "$SA" snapshot copy se nc --kms-key kdis
refuse KMSKeyNotAccessible "$SA" snapshot copy se nc --kms-key "$KBE"
# The longest valid name (63) is accepted.
N63="a$(printf 'b%.0s' {1..62})"
jc "$SA" snapshot copy sp "$N63" >/dev/null || fail "a 63-character name was refused"
wait_available "$SA" "$N63"
jc "$SA" snapshot delete "$N63" >/dev/null

step "3. refusals across regions"
refuse InvalidParameterValue "$SB" snapshot copy "$ARN_A:sp" 9copy
refuse SnapshotAlreadyExists "$SB" snapshot copy "$ARN_A:sp" x-plain
refuse SnapshotNotFound "$SB" snapshot copy "$ARN_A:nosuch" nc
refuse SnapshotNotFound "$SB" snapshot copy "arn:clonefs:us-east-1:000000000000:snapshot:sp" nc
refuse SnapshotNotFound "$SB" snapshot copy sp nc  # a bare name is a snapshot of B's own region
refuse InvalidParameterCombination "$SB" snapshot copy "$ARN_A:se" nc
refuse InvalidParameterCombination "$SB" snapshot copy "$ARN_A:sp" nc --kms-key kbe
refuse KMSKeyNotAccessible "$SB" snapshot copy "$ARN_A:se" nc --kms-key nosuchkey
refuse KMSKeyNotAccessible "$SB" snapshot copy "$ARN_A:se" nc --kms-key kbdis
refuse KMSKeyNotAccessible "$SB" snapshot copy "$ARN_A:se" nc --kms-key "$KA"  # A's key, not B's
refuse InvalidParameterValue "$SB" snapshot copy "arn:clonefs:ap-south-1:$ACC_A:snapshot:sp" nc
refuse InvalidParameterValue "$SB" snapshot copy "arn:clonefs:us-east-1:$ACC_A:volume:plain" nc
refuse InvalidParameterValue "$SB" snapshot copy "arn:clonefs:us-east-1" nc
names_absent "$SB" "$MB" nc 9copy
names_absent "$SA" "$MA" nc 1copy

step "3. snapshot quota: B's daemon with -o snapshot_quota=(its snapshots + 1)"
unmount_store "$SB" "$MB"
NB="$(jc "$SB" snapshot list | jq '.Snapshots | length')"
mount_store "$SB" "$MB" fg -o snapshot_quota=$((NB + 1))
jc "$SB" snapshot copy "$ARN_A:sp" quota-1 >/dev/null
# While quota-1 is in progress it counts, and once available it is a manual snapshot.
LOOSE=1 refuse SnapshotQuotaExceeded "$SB" snapshot copy "$ARN_A:sp" quota-2
[[ "$(state_of "$SB" quota-1)" != available ]] || log "(quota-1 completed meanwhile: the in-progress case was not met)"
wait_available "$SB" quota-1
refuse SnapshotQuotaExceeded "$SB" snapshot copy "$ARN_A:sp" quota-2
refuse SnapshotQuotaExceeded "$SB" snapshot copy x-plain quota-2
jc "$SB" snapshot delete quota-1 >/dev/null
jc "$SB" snapshot copy x-plain quota-2 >/dev/null || fail "a copy within the quota again was refused"
wait_available "$SB" quota-2
same_image "$MA/snapshots/sp" "$MB/snapshots/quota-2" "in-region copy in B"
jc "$SB" snapshot delete quota-2 >/dev/null
unmount_store "$SB" "$MB"
mount_store "$SB" "$MB"

# --- 4 ----------------------------------------------------------------------------------------

step "4. seven copies at once: at most 5 run, in submission order; in-progress ones refused as target and source"
cat >"$T/queue_poll.py" <<'EOF'
# Polls `snapshot list --json` until every named copy is available, checking at every poll:
# each name listed exactly once, Status copying (PercentProgress 0-100, never going back, or
# none while queued) or available (100); at most LIMIT with PercentProgress; started copies
# (progress or available) a prefix of the submission order. Also counts the polls that saw
# LIMIT running and the rest queued. Exit 0 only if all hold and that was seen at least once;
# 3 if all held but a name was listed twice at some poll.
import json, subprocess, sys, time

ctl, store, timeout, limit = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
names = sys.argv[5:]
t0 = time.time()
full = polls = 0
last = {}
dups = []


def die(msg):
    print("queue-poll: FAIL after %d polls: %s" % (polls, msg), file=sys.stderr)
    sys.exit(1)


while True:
    r = subprocess.run([ctl, "--store", store, "--json", "snapshot", "list"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        die("snapshot list failed: " + r.stderr)
    snaps = json.loads(r.stdout)["Snapshots"]
    polls += 1
    started, row, running, done = [], [], 0, 0
    for n in names:
        m = [s for s in snaps if s["SnapshotIdentifier"] == n]
        if len(m) == 0:
            die("%s is missing from the snapshot list" % n)
        if len(m) > 1:
            # Checked to the end all the same; reported (exit 3) once everything else held.
            dups.append("poll %d: %s listed %d times: %s" % (polls, n, len(m), json.dumps(
                [{k: x.get(k) for k in ("Status", "PercentProgress", "SnapshotCreateTime")}
                 for x in m])))
            m = [x for x in m if x["Status"] == "available"] or m
        s = m[0]
        st, p = s["Status"], s.get("PercentProgress")
        if st == "copying":
            if p is not None:
                if not isinstance(p, int) or not 0 <= p <= 100:
                    die("%s: PercentProgress %r" % (n, p))
                if p < last.get(n, 0):
                    die("%s: progress went back from %d%% to %d%%" % (n, last[n], p))
                last[n] = p
                running += 1
            started.append(p is not None)
            row.append("%s:%s" % (n, "queued" if p is None else "%d%%" % p))
        elif st == "available":
            if p != 100:
                die("%s is available with PercentProgress %r" % (n, p))
            last[n] = 100
            started.append(True)
            done += 1
            row.append("%s:available" % n)
        else:
            die("%s has Status %s: %s" % (n, st, s.get("StatusMessage")))
    print("%6.2fs running=%d %s" % (time.time() - t0, running, " ".join(row)), flush=True)
    if running > limit:
        die("%d copies run at once (at most %d may)" % (running, limit))
    for i, n in enumerate(names):
        if started[i]:
            waiting = [names[k] for k in range(i) if not started[k]]
            if waiting:
                die("%s started while %s, submitted before it, still waits" % (n, ", ".join(waiting)))
    if running == limit and started.count(False) == len(names) - limit:
        full += 1
    if done == len(names):
        break
    if time.time() - t0 > timeout:
        die("not all available within %d s" % timeout)
    time.sleep(0.05)
if full == 0:
    die("never saw %d copies running and %d queued at once" % (limit, len(names) - limit))
print("queue-poll: %d polls; %d of them saw %d running and %d queued" % (polls, full, limit, len(names) - limit))
if dups:
    print("queue-poll: FAIL: a copy was listed twice while it completed:\n  " + "\n  ".join(dups),
          file=sys.stderr)
    sys.exit(3)
EOF
Q=(q1 q2 q3 q4 q5 q6 q7)
t0=$(now_ms)
for q in "${Q[@]}"; do
  st="$(jc "$SA" snapshot copy se "$q" | jq -r .Status)"
  [[ "$st" == copying ]] || fail "copy $q answered with Status $st"
done
log "7 copies submitted in $(($(now_ms) - t0)) ms"
python3 "$T/queue_poll.py" "$CLONECTL" "$SA" 240 5 "${Q[@]}" >"$T/queue.log" 2>&1 &
POLLER=$!
# Meanwhile: a copy in progress (running q1, queued q7) is a taken name, and no source yet.
[[ "$(state_of "$SA" q7)" == queued ]] || fail "q7 is not queued right after the submissions: $(state_of "$SA" q7)"
# The running copy first: on a loaded machine each CLI call takes a while, and q1 ends first.
LOOSE=1 refuse InvalidSnapshotState "$SA" snapshot copy q1 from-running
LOOSE=1 refuse SnapshotAlreadyExists "$SA" snapshot copy se q7
LOOSE=1 refuse SnapshotAlreadyExists "$SA" snapshot copy sp q1
LOOSE=1 refuse InvalidSnapshotState "$SA" snapshot copy q7 from-queued
LOOSE=1 refuse InvalidSnapshotState "$SB" snapshot copy "$ARN_A:q7" from-queued
st="$(state_of "$SA" q7)"
[[ "$st" != available ]] || fail "q7 completed before the refusals ended: they did not meet a copy in progress"
rc=0
wait "$POLLER" || rc=$?
sed 's/^/    /' "$T/queue.log" | awk 'NR <= 6 || /queue-poll/' | head -n 40
if ((rc == 3)); then
  defer_fail "snapshot list showed a copy twice (copying and available) as it completed: $(grep -A3 'listed twice' "$T/queue.log" | tail -n +2 | head -n 3)"
elif ((rc != 0)); then
  cat "$T/queue.log"
  fail "the copy queue broke a rule (see above)"
fi
log "all 7 available after $(($(now_ms) - t0)) ms"
for q in "${Q[@]}"; do
  j="$(show "$SA" "$q")"
  [[ "$(jq -r '.KmsKeyId + " " + .SourceSnapshotArn' <<<"$j")" == "$KA $ARN_A:se" ]] || fail "copy $q: $j"
  [[ "$(sum_of "$MA/snapshots/$q")" == "$SE_SUM" ]] || fail "copy $q differs from se"
done
log "q1..q7 are all identical to se"
for q in "${Q[@]}"; do jc "$SA" snapshot delete "$q" >/dev/null; done
names_absent "$SA" "$MA" from-queued from-running
names_absent "$SB" "$MB" from-queued

# --- 5 ----------------------------------------------------------------------------------------

step "5. cancel a running and a queued copy by deleting its target"
jc "$SA" gc >/dev/null
LC0="$(live_bytes "$SA")"
C=(c1 c2 c3 c4 c5 c6)
for c in "${C[@]}"; do jc "$SA" snapshot copy se "$c" >/dev/null; done
wait_running "$SA" c3 1
[[ "$(state_of "$SA" c6)" == queued ]] || fail "c6 is not queued: $(state_of "$SA" c6)"
del="$(jc "$SA" snapshot delete c6)"
[[ "$(jq -r .Status <<<"$del")" == deleted ]] || fail "deleting the queued copy c6 answered: $del"
st="$(state_of "$SA" c3)"
[[ "$st" =~ ^[0-9]+$ ]] || fail "c3 is no longer running ($st) when it is to be cancelled"
del="$(jc "$SA" snapshot delete c3)"
[[ "$(jq -r .Status <<<"$del")" == deleted ]] || fail "deleting the running copy c3 answered: $del"
log "cancelled c3 at $st% and c6 while queued"
names_absent "$SA" "$MA" c3 c6
for c in c1 c2 c4 c5; do wait_available "$SA" "$c"; done
names_absent "$SA" "$MA" c3 c6  # the queued one did not start later
jc "$SA" gc >/dev/null
LC1="$(live_bytes "$SA")"
log "live bytes: $((LC0 / MIB)) MiB before, $((LC1 / MIB)) MiB with the 4 finished copies (one copy: $((D_A / MIB)) MiB)"
within "$LC1" $((LC0 + 4 * D_A)) $((24 * MIB)) "live bytes with 4 of 6 copies finished (2 cancelled)"
for c in c1 c2 c4 c5; do
  [[ "$(sum_of "$MA/snapshots/$c")" == "$SE_SUM" ]] || fail "copy $c differs from se"
done
# The names are free: new copies may take them.
jc "$SA" snapshot copy sp c3 >/dev/null
jc "$SA" snapshot copy sp c6 --tag again=yes >/dev/null
wait_available "$SA" c3
wait_available "$SA" c6
same_image "$MA/snapshots/sp" "$MA/snapshots/c6" "a new copy under a cancelled copy's name"
for c in "${C[@]}"; do jc "$SA" snapshot delete "$c" >/dev/null; done
jc "$SA" gc >/dev/null
LC2="$(live_bytes "$SA")"
within "$LC2" "$LC0" $((8 * MIB)) "live bytes after deleting every copy of step 5"
log "live bytes back to $((LC2 / MIB)) MiB (from $((LC0 / MIB)) MiB)"

# --- 6 ----------------------------------------------------------------------------------------

step "6. kill -9 of the destination daemon mid-copy; remount (regions from a file): the copy starts again"
cat >"$T/regions.conf" <<EOF
# region     store directory
us-east-1    $SA
eu-west-1 =  $SB
EOF
export CLONEFS_REGIONS="$T/regions.conf"
jc "$SB" gc >/dev/null
LK0="$(live_bytes "$SB")"
jc "$SB" snapshot copy "$ARN_A:se" k1 --kms-key kbe --tag run=kill >/dev/null
wait_running "$SB" k1 30
kill9_store "$SB" "$MB"
[[ "$(state_of "$SA" se)" == available ]] || fail "store A's snapshot se is not available after B's daemon was killed"
mount_store "$SB" "$MB"
first="$(state_of "$SB" k1)"
log "k1 right after the remount: $first"
[[ "$first" == queued || "$first" =~ ^[0-9]+$ ]] || fail "k1 after the restart is '$first', not a copy in progress"
wait_available "$SB" k1
j="$(show "$SB" k1)"
[[ "$(jq -r '.KmsKeyId + " " + .SourceSnapshotArn' <<<"$j")" == "$KBE $ARN_A:se" ]] || fail "k1 after the restart: $j"
[[ "$(tags_of "$j")" == "run=kill" ]] || fail "k1 lost its tag across the restart: $(tags_of "$j")"
same_image "$MA/snapshots/se" "$MB/snapshots/k1" "copy completed after kill -9"
jc "$SB" gc >/dev/null
LK1="$(live_bytes "$SB")"
log "B's live bytes: $((LK0 / MIB)) MiB before, $((LK1 / MIB)) MiB after (one copy: $((D_B / MIB)) MiB)"
within "$LK1" $((LK0 + D_B)) $((8 * MIB)) "B's live bytes after the restarted copy (the partial one must be gone)"
jc "$SB" snapshot delete k1 >/dev/null

# --- 7 ----------------------------------------------------------------------------------------

step "7. the source snapshot deleted mid-copy (and gc): in-region, a running and a queued copy complete"
# Each source is the only holder of its pages: its volume is deleted after the snapshot.
for g in gone1 gone2 gone3; do
  ca volume create "v$g" --size 384M --kms-key ka >/dev/null
  fill "$MA/volumes/v$g" 320
  jc "$SA" snapshot create "v$g" "$g" >/dev/null
  jc "$SA" volume delete "v$g" >/dev/null
done
G1_SUM="$(sum_of "$MA/snapshots/gone1")"
G2_SUM="$(sum_of "$MA/snapshots/gone2")"
for f in f1 f2 f3 f4; do jc "$SA" snapshot copy se "$f" >/dev/null; done
jc "$SA" snapshot copy gone1 g-run >/dev/null     # the 5th: runs beside f1..f4
jc "$SA" snapshot copy gone1 g-queued >/dev/null  # the 6th: waits
wait_running "$SA" g-run 1
st="$(state_of "$SA" g-run)"
[[ "$(state_of "$SA" g-queued)" == queued ]] || fail "g-queued is not queued: $(state_of "$SA" g-queued)"
jc "$SA" snapshot delete gone1 >/dev/null || fail "deleting the source of a copy in progress was refused"
after_st="$(state_of "$SA" g-run)"
log "deleted gone1 while g-run was at $st% (now $after_st) and g-queued $(state_of "$SA" g-queued)"
[[ "$after_st" != available ]] || fail "g-run completed around its source's deletion: the test proves nothing"
names_absent "$SA" "$MA" gone1
jc "$SA" gc >/dev/null
wait_available "$SA" g-run
wait_available "$SA" g-queued
[[ "$(sum_of "$MA/snapshots/g-run")" == "$G1_SUM" ]] || fail "g-run differs from the deleted source gone1"
[[ "$(sum_of "$MA/snapshots/g-queued")" == "$G1_SUM" ]] || fail "g-queued differs from the deleted source gone1"
j="$(show "$SA" g-queued)"
[[ "$(jq -r '.SourceSnapshotArn + " " + .KmsKeyId' <<<"$j")" == "$ARN_A:gone1 $KA" ]] || fail "g-queued: $j"
for f in f1 f2 f3 f4; do wait_available "$SA" "$f"; done
for c in g-run g-queued f1 f2 f3 f4; do jc "$SA" snapshot delete "$c" >/dev/null; done

step "7. the source deleted mid-copy across regions: the copy completes"
jc "$SB" snapshot copy "$ARN_A:gone2" g-x --kms-key kbe >/dev/null
wait_running "$SB" g-x 1
st="$(state_of "$SB" g-x)"
jc "$SA" snapshot delete gone2 >/dev/null || fail "deleting the source of a cross-region copy was refused"
after_st="$(state_of "$SB" g-x)"
log "deleted gone2 in us-east-1 while g-x was at $st% (now $after_st)"
[[ "$after_st" != available ]] || fail "g-x completed around its source's deletion: the test proves nothing"
jc "$SA" gc >/dev/null
wait_available "$SB" g-x
[[ "$(sum_of "$MB/snapshots/g-x")" == "$G2_SUM" ]] || fail "g-x differs from the deleted source gone2"
jc "$SB" snapshot delete g-x >/dev/null

step "7. source deleted while the destination daemon is down: Status failed with a message"
jc "$SB" snapshot copy "$ARN_A:gone3" g-fail --kms-key kbe >/dev/null
wait_running "$SB" g-fail 5
jc "$SA" snapshot delete gone3 >/dev/null
kill9_store "$SB" "$MB"
# Once B's end of the stream is gone, A's export ends and releases the source.
jc "$SA" gc >/dev/null
names_absent "$SA" "$MA" gone3
mount_store "$SB" "$MB"
deadline=$(($(date +%s) + 60))
while [[ "$(state_of "$SB" g-fail)" != failed ]]; do
  st="$(state_of "$SB" g-fail)"
  [[ "$st" != available ]] || fail "g-fail completed although its source was deleted while no copy ran"
  (($(date +%s) < deadline)) || fail "g-fail is '$st' 60 s after the restart, not failed"
  sleep 0.2
done
j="$(show "$SB" g-fail)"
log "g-fail: $(jq -c '{Status, StatusMessage}' <<<"$j")"
[[ -n "$(jq -r '.StatusMessage // empty' <<<"$j")" ]] || fail "the failed copy has no StatusMessage: $j"
refuse SnapshotAlreadyExists "$SB" snapshot copy "$ARN_A:sp" g-fail
jc "$SB" snapshot delete g-fail >/dev/null || fail "deleting the failed copy g-fail failed"
names_absent "$SB" "$MB" g-fail

# --- 8 ----------------------------------------------------------------------------------------

step "8. PostgreSQL 15 on ext4 on an encrypted volume in us-east-1; snapshot while it runs"
pg_rundir "$T/pg"
ca volume create pg --size 1G --kms-key ka >/dev/null
loop_attach LOOPA "$MA/volumes/pg"
mkfs.ext4 -q -F "$LOOPA"
mkdir -p "$T/pga" "$T/pgb"
mount "$LOOPA" "$T/pga"
pg_initdb "$T/pga/pgdata" "$PGRUN/initdb.log"
PORT_A="$(free_port)"
pg_start "$T/pga/pgdata" "$PORT_A" "$PGRUN/a.log"
pg_client pgbench "$PORT_A" -i -s 3 -q postgres >"$PGRUN/init.log" 2>&1 ||
  { cat "$PGRUN/init.log"; fail "pgbench -i failed"; }
pg_client pgbench "$PORT_A" -c 2 -j 2 -t 500 postgres >"$PGRUN/run.log" 2>&1 ||
  { cat "$PGRUN/run.log"; fail "pgbench run failed"; }
pg_sql "$PORT_A" "create table marker as select g as id, md5(g::text) as note from generate_series(1, 5000) g"
counts() {
  pg_sql "$1" "select (select count(*) from pgbench_accounts), (select count(*) from pgbench_history),
                      (select sum(abalance) from pgbench_accounts), (select count(*) || ':' || md5(string_agg(note, ',' order by id)) from marker)"
}
before="$(counts "$PORT_A")"
log "rows in us-east-1 (accounts|history|sum|marker): $before"
[[ "$before" == 300000\|1000\|* ]] || fail "unexpected rows: $before"
jc "$SA" snapshot create pg pg-live >/dev/null  # crash-consistent: PostgreSQL keeps running
pg_stop "$T/pga/pgdata"
umount "$T/pga"
loop_detach "$LOOPA"

step "8. copy it to eu-west-1, restore it there, start PostgreSQL (crash recovery), compare, pg_amcheck"
cb snapshot copy "$ARN_A:pg-live" pg-eu --kms-key kbe --wait >/dev/null 2>"$T/wait.err" ||
  fail "copy of pg-live to eu-west-1: $(cat "$T/wait.err")"
same_image "$MA/snapshots/pg-live" "$MB/snapshots/pg-eu" "the PostgreSQL snapshot across regions"
jc "$SB" volume restore pg-eu pgb >/dev/null
[[ "$(jc "$SB" volume show pgb | jq -r .KmsKeyId)" == "$KBE" ]] || fail "the restored volume is not under B's key"
loop_attach LOOPB "$MB/volumes/pgb"
mount "$LOOPB" "$T/pgb" || fail "mounting the ext4 of the restored copy failed"
# Taken while the server ran: its postmaster.pid names a process that may exist here.
rm -f "$T/pgb/pgdata/postmaster.pid"
PORT_B="$(free_port)"
pg_start "$T/pgb/pgdata" "$PORT_B" "$PGRUN/b.log" 300
grep -q "database system was not properly shut down; automatic recovery in progress" "$PGRUN/b.log" ||
  fail "the copy did not go through crash recovery: it is no image of the running server"
after="$(counts "$PORT_B")"
log "rows in eu-west-1: $after"
[[ "$after" == "$before" ]] || fail "rows differ across regions: us-east-1 $before, eu-west-1 $after"
pg_client pg_amcheck "$PORT_B" --all --heapallindexed --install-missing \
  >"$PGRUN/amcheck.log" 2>&1 || { cat "$PGRUN/amcheck.log"; fail "pg_amcheck found corruption in the copy"; }
[[ ! -s "$PGRUN/amcheck.log" ]] || { cat "$PGRUN/amcheck.log"; fail "pg_amcheck reported something"; }
log "pg_amcheck --all --heapallindexed: clean"
pg_sql "$PORT_B" "insert into marker values (5001, 'written in eu-west-1')"
pg_stop "$T/pgb/pgdata"
umount "$T/pgb"
e2fsck -fn "$LOOPB" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn on the restored copy reports problems"; }
loop_detach "$LOOPB"

step "9. clean unmount while copies run: each daemon exits 0; remounted, the copies start again and complete"
U=(u1 u2 u3 u4 u5 u6)
for u in "${U[@]}"; do jc "$SA" snapshot copy se "$u" >/dev/null; done
jc "$SB" snapshot copy "$ARN_A:se" u-x --kms-key kbe >/dev/null
wait_running "$SA" u1 1
wait_running "$SB" u-x 1
log "unmounting both stores with 5 copies running and 1 queued in us-east-1, 1 running in eu-west-1"
clean_unmount "$SB" "$MB"  # first B: A's daemon still serves the stream it reads
clean_unmount "$SA" "$MA"
mount_store "$SA" "$MA"
mount_store "$SB" "$MB"
for u in "${U[@]}"; do wait_available "$SA" "$u"; done
wait_available "$SB" u-x
for u in "${U[@]}"; do
  [[ "$(sum_of "$MA/snapshots/$u")" == "$SE_SUM" ]] || fail "copy $u, restarted after the unmount, differs from se"
done
[[ "$(sum_of "$MB/snapshots/u-x")" == "$SE_SUM" ]] || fail "copy u-x, restarted after the unmount, differs from se"
for u in "${U[@]}"; do jc "$SA" snapshot delete "$u" >/dev/null; done
jc "$SB" snapshot delete u-x >/dev/null

step "both daemons unmount cleanly; no corruption logged"
unmount_store "$SB" "$MB"
unmount_store "$SA" "$MA"
if ((${#DEFERRED[@]} > 0)); then
  fail "$(printf '%s\n' "${DEFERRED[@]}")"
fi
assert_no_corruption
