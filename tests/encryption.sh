#!/usr/bin/env bash
# Encrypted volumes end to end through the daemon: PostgreSQL 15 on ext4 on an encrypted
# volume (initdb, pgbench, remount, pg_amcheck); cp in the mount clones it under its key; a
# clone under another KMS key keeps working when the source's key is disabled, while the source
# refuses to open and an open handle gets EIO; enabling the key again loses nothing; rekey, then
# remount; finally neither the store directory nor the daemon logs hold a plaintext marker
# written through ext4 or PostgreSQL, nor the key file's bytes (raw or hex), while an
# unencrypted control volume's marker is found.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_pg.sh"
t_init "$@"
need_loop
pg_require

M="$T/mnt"
E="$T/ext4"
EC="$T/ext4-clone"
PORT="$(free_port)"
MARK_FILE="clonefs-marker-file-$RANDOM$RANDOM-$(date +%s%N)"
MARK_ROW="clonefs-marker-row-$RANDOM$RANDOM-$(date +%s%N)"
MARK_PLAIN="clonefs-marker-plain-$RANDOM$RANDOM-$(date +%s%N)"
mkdir -p "$E" "$EC"
pg_rundir "$T/pg"

counts() {
  pg_sql "$PORT" "select (select count(*) from pgbench_accounts), (select count(*) from pgbench_history),
                        (select sum(abalance) from pgbench_accounts), (select note from marker)"
}
json_get() { iotool json-get "$1"; }

# A read through an already open handle of the volume file: "ok" or the errno name.
# O_DIRECT so that the kernel's page cache cannot answer for the daemon.
read_open_handle() {
  python3 - "$1" "$2" <<'EOF'
import errno, mmap, os, subprocess, sys
path, ctl = sys.argv[1], sys.argv[2].split()
fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
def attempt():
    try:
        os.preadv(fd, [buf], 0)
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
before = attempt()
subprocess.run(ctl + ["key", "disable", "src"], check=True, stdout=subprocess.DEVNULL)
during = attempt()
subprocess.run(ctl + ["key", "enable", "src"], check=True, stdout=subprocess.DEVNULL)
after = attempt()
print(before, during, after)
EOF
}

step "store with a key file beside it; two KMS keys; an encrypted 1 GiB volume"
new_store "$T/store"
[[ -f "$T/store.key" ]] || fail "clonectl init made no key file at $T/store.key"
[[ "$(stat -c %a "$T/store.key")" == 600 ]] || fail "the key file is not mode 0600"
mount_store "$STORE" "$M"
SRC_KEY="$(ctl --json key create --alias src --description "source key" | json_get KeyId)"
CLONE_KEY="$(ctl --json key create --alias clone | json_get KeyId)"
THIRD_KEY="$(ctl --json key create --alias third | json_get KeyId)"
log "keys: src $SRC_KEY, clone $CLONE_KEY, third $THIRD_KEY"
ctl volume create pg --size 1G --encrypted --kms-key alias/src >/dev/null
show="$(ctl --json volume show pg)"
[[ "$(json_get StorageEncrypted <<<"$show")" == True ]] || fail "volume show: not StorageEncrypted: $show"
[[ "$(json_get KmsKeyId <<<"$show")" == arn:clonefs:*:key:"$SRC_KEY" ]] || fail "volume show: wrong KmsKeyId: $show"
ctl volume create plain --size 16M >/dev/null
[[ "$(ctl --json volume show plain | json_get StorageEncrypted)" == False ]] || fail "plain volume shows as encrypted"
python3 -c "import sys; sys.stdout.write(('$MARK_PLAIN' * 200)[:4096])" |
  dd of="$M/volumes/plain" bs=4096 count=1 oflag=direct conv=notrunc status=none

step "ext4 and PostgreSQL 15 on it: initdb, pgbench -i -s 5, pgbench -T 10, a marker row"
loop_attach LOOP "$M/volumes/pg"
mkfs.ext4 -q -F "$LOOP"
mount "$LOOP" "$E"
for i in $(seq 64); do echo "$MARK_FILE line $i"; done >"$E/marker.txt"
PGDATA="$E/pgdata"
pg_initdb "$PGDATA" "$PGRUN/initdb.log"
pg_start "$PGDATA" "$PORT" "$PGRUN/server.log"
pg_client pgbench "$PORT" -i -s 5 -q postgres >"$PGRUN/init.log" 2>&1 ||
  { cat "$PGRUN/init.log"; fail "pgbench -i failed"; }
pg_client pgbench "$PORT" -c 4 -j 2 -T 10 postgres >"$PGRUN/run.log" 2>&1 ||
  { cat "$PGRUN/run.log"; fail "pgbench run failed"; }
grep -E '^tps' "$PGRUN/run.log" | sed 's/^/    /'
pg_sql "$PORT" "create table marker (note text); insert into marker values ('$MARK_ROW'); checkpoint;"
before="$(counts)"
log "rows (accounts|history|sum abalance|marker): $before"
[[ "$before" == 500000\|*\|*\|"$MARK_ROW" ]] || fail "unexpected contents: $before"
pg_stop "$PGDATA"
umount "$E"
loop_detach "$LOOP"

step "remount the store: same rows, pg_amcheck clean"
unmount_store "$STORE" "$M"
mount_store "$STORE" "$M"
loop_attach LOOP "$M/volumes/pg"
e2fsck -fn "$LOOP" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn reports problems"; }
mount "$LOOP" "$E"
pg_start "$PGDATA" "$PORT" "$PGRUN/server.log"
after="$(counts)"
[[ "$after" == "$before" ]] || fail "rows changed across remount: before $before, after $after"
pg_client pg_amcheck "$PORT" --all --heapallindexed --install-missing \
  >"$PGRUN/amcheck.log" 2>&1 || { cat "$PGRUN/amcheck.log"; fail "pg_amcheck found corruption"; }
[[ ! -s "$PGRUN/amcheck.log" ]] || { cat "$PGRUN/amcheck.log"; fail "pg_amcheck reported something"; }
log "pg_amcheck --all --heapallindexed: clean"
pg_stop "$PGDATA"
umount "$E"
loop_detach "$LOOP"

step "clone under another key; cp clones under the source's key; a plain volume's clone cannot name one"
clone="$(ctl --json volume clone pg pgc --kms-key clone)"
[[ "$(json_get KmsKeyId <<<"$clone")" == *:key:"$CLONE_KEY" ]] || fail "clone not under the clone key: $clone"
if out="$(ctl volume clone plain plainc --kms-key src 2>&1)"; then fail "an unencrypted volume's clone was encrypted"; fi
[[ "$out" == *InvalidParameterCombination* ]] || fail "wrong refusal: $out"
# cp in the mount clones into the new (empty) volume, which takes the source's keys.
cp --sparse=never "$M/volumes/pg" "$M/volumes/pgcp"
cpinfo="$(ctl --json volume show pgcp)"
[[ "$(json_get SourceVolumeIdentifier <<<"$cpinfo")" == pg ]] || fail "cp did not clone: $cpinfo"
[[ "$(json_get KmsKeyId <<<"$cpinfo")" == *:key:"$SRC_KEY" ]] || fail "cp's clone is not under the source's key: $cpinfo"
cmp -n $((64 << 20)) "$M/volumes/pg" "$M/volumes/pgcp" || fail "cp's clone reads differently"

step "disable the source's key: an open handle gets EIO, the source refuses to open, the clone works"
read -r h_before h_during h_after <<<"$(read_open_handle "$M/volumes/pg" "$CLONECTL --store $STORE")"
log "open handle read: before $h_before, while disabled $h_during, after enabling $h_after"
[[ "$h_before $h_during $h_after" == "ok EIO ok" ]] || fail "open handle: expected ok EIO ok, got $h_before $h_during $h_after"
ctl key disable src >/dev/null
[[ "$(ctl --json key show src | json_get KeyState)" == Disabled ]] || fail "key src is not Disabled"
if dd if="$M/volumes/pg" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>"$T/dd.err"; then
  fail "the source volume opened while its key is disabled"
fi
log "source refused: $(cat "$T/dd.err")"
grep -q "Permission denied" "$T/dd.err" || fail "expected EACCES opening the source, got: $(cat "$T/dd.err")"
grep -q "$SRC_KEY" "$T"/clonefs.*.log || fail "the daemon log does not name the disabled key $SRC_KEY"
loop_attach LOOPC "$M/volumes/pgc"
e2fsck -fn "$LOOPC" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn on the clone reports problems"; }
mount "$LOOPC" "$EC"
grep -q "$MARK_FILE line 64" "$EC/marker.txt" || fail "the clone lost the marker file"
pg_start "$EC/pgdata" "$PORT" "$PGRUN/server.log"
clone_rows="$(counts)"
[[ "$clone_rows" == "$before" ]] || fail "the clone's rows differ: $clone_rows vs $before"
pg_sql "$PORT" "insert into pgbench_history (tid, bid, aid, delta, mtime) values (1, 1, 1, 7, now())"
pg_stop "$EC/pgdata"
umount "$EC"
loop_detach "$LOOPC"

step "enable the source's key again: nothing lost"
ctl key enable src >/dev/null
loop_attach LOOP "$M/volumes/pg"
mount "$LOOP" "$E"
grep -q "$MARK_FILE line 64" "$E/marker.txt" || fail "the source lost the marker file"
pg_start "$PGDATA" "$PORT" "$PGRUN/server.log"
[[ "$(counts)" == "$before" ]] || fail "the source's rows changed"
pg_stop "$PGDATA"
umount "$E"
loop_detach "$LOOP"

step "rekey the clone to a third key, disable the clone key, remount: the clone still reads"
rekeyed="$(ctl --json volume rekey pgc --kms-key third)"
[[ "$(json_get KmsKeyId <<<"$rekeyed")" == *:key:"$THIRD_KEY" ]] || fail "rekey: $rekeyed"
ctl key disable clone >/dev/null
unmount_store "$STORE" "$M"
mount_store "$STORE" "$M"
loop_attach LOOPC "$M/volumes/pgc"
e2fsck -fn "$LOOPC" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn after rekey reports problems"; }
mount "$LOOPC" "$EC"
grep -q "$MARK_FILE line 64" "$EC/marker.txt" || fail "the re-keyed clone lost the marker file"
pg_start "$EC/pgdata" "$PORT" "$PGRUN/server.log"
rows="$(pg_sql "$PORT" "select count(*) from pgbench_history")"
IFS='|' read -r _ hist _ _ <<<"$before"
((rows == hist + 1)) || fail "the re-keyed clone's history has $rows rows, expected $((hist + 1))"
pg_stop "$EC/pgdata"
umount "$EC"
loop_detach "$LOOPC"
ctl store sync >/dev/null
unmount_store "$STORE" "$M"

step "no plaintext marker and no key material in the store or the logs"
python3 - "$T/store" "$T/store.key" "$MARK_FILE" "$MARK_ROW" "$MARK_PLAIN" "$T"/clonefs.*.log <<'EOF'
import binascii, os, sys
store, key_file, mark_file, mark_row, mark_plain = sys.argv[1:6]
logs = sys.argv[6:]
key = open(key_file, "rb").read()
assert len(key) == 32, "key file is not 32 bytes"
secret = {
    "ext4 marker": mark_file.encode(),
    "row marker": mark_row.encode(),
    "key file (raw)": key,
    "key file (hex)": binascii.hexlify(key),
    "key file (HEX)": binascii.hexlify(key).upper(),
}
files = [os.path.join(d, f) for d, _, fs in os.walk(store) for f in fs] + logs
found, plain_seen = [], False
for path in files:
    if not os.path.isfile(path):
        continue
    data = open(path, "rb").read()
    plain_seen = plain_seen or mark_plain.encode() in data
    for what, needle in secret.items():
        if needle in data:
            found.append(f"{what} in {path}")
print(f"searched {len(files)} files")
if not plain_seen:
    sys.exit("the unencrypted control marker was not found: the search cannot be trusted")
if found:
    sys.exit("found: " + "; ".join(found))
EOF
assert_no_corruption
