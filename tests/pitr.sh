#!/usr/bin/env bash
# Point-in-time restore of a live database: PostgreSQL 15 on ext4 on a loop device on a volume
# (synchronous_commit on), pgbench inserting rows stamped with clock_timestamp() while a client
# commits numbered rows one transaction at a time and logs when each began and when its
# commit returned. The volume is then restored to several times T (the latest first, then
# earlier ones: a restore to a time before a previous restore). Each restored image is loop-
# mounted (ext4 replays its journal), PostgreSQL starts (crash recovery), pg_amcheck is clean,
# it holds every numbered row whose commit returned before T and none begun after T, and no
# stamped row from after T. Also: the window shown by volume show, BackupStorageBytes, bad
# times and names, a clone's own window, and a restart of the daemon.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_pg.sh"
t_init "$@"
need_loop
pg_require

M="$T/mnt"
pg_rundir "$T/pg"
START_TIMEOUT=300
RUN_SECONDS=24

now_ns() { date +%s%N; }
# rfc3339 NS: the UTC time NS (nanoseconds since the epoch), to the microsecond.
rfc3339() { date -u -d "@$(($1 / 1000000000)).$(printf '%09d' $(($1 % 1000000000)))" +%Y-%m-%dT%H:%M:%S.%6NZ; }
# ns_of RFC3339: the reverse.
ns_of() { date -u -d "$1" +%s%N; }

step "store, volume with a 7-day retention, loop, ext4, PostgreSQL"
new_store "$T/store"
mount_store "$STORE" "$M"
ctl volume create pg --size 1G --backup-retention-period 7 >/dev/null
CREATED_NS=$(now_ns)
E="$T/src"
mkdir -p "$E"
loop_attach LOOP "$M/volumes/pg"
mkfs.ext4 -q -F "$LOOP"
mount "$LOOP" "$E"
PGDATA="$E/pgdata"
pg_initdb "$PGDATA" "$PGRUN/initdb.log"
PORT="$(free_port)"
pg_start "$PGDATA" "$PORT" "$PGRUN/source.log" "$START_TIMEOUT"
[[ "$(pg_sql "$PORT" "show synchronous_commit")" == on ]] || fail "synchronous_commit is not on"
pg_sql "$PORT" "create table stamps (ts timestamptz not null, client int not null);
                create table numbered (n int primary key, pad text not null)"
cat >"$PGRUN/stamp.sql" <<'EOF'
insert into stamps values (clock_timestamp(), :client_id);
EOF
chown "$PG_OS_USER": "$PGRUN/stamp.sql"

step "pgbench stamping rows for ${RUN_SECONDS}s, one client committing numbered rows"
pg_client pgbench "$PORT" -n -c 3 -j 2 -T "$RUN_SECONDS" -f "$PGRUN/stamp.sql" postgres \
  >"$PGRUN/run.log" 2>&1 &
BENCH=$!
COMMITS="$T/commits.log"  # n began_ns committed_ns
: >"$COMMITS"
n=0
end=$(($(date +%s) + RUN_SECONDS - 2))
TIMES=()
next_mark=$(($(date +%s) + 5))
while (($(date +%s) < end)); do
  n=$((n + 1))
  began=$(now_ns)
  pg_sql "$PORT" "insert into numbered values ($n, repeat('x', 500))" || fail "insert $n failed"
  echo "$n $began $(now_ns)" >>"$COMMITS"
  if (($(date +%s) >= next_mark)); then
    TIMES+=("$(now_ns)")
    next_mark=$((next_mark + 5))
  fi
done
rc=0
wait "$BENCH" || rc=$?
((rc == 0)) || { cat "$PGRUN/run.log"; fail "pgbench failed (exit $rc)"; }
pg_bench_summary "$PGRUN/run.log"
((${#TIMES[@]} >= 3)) || fail "only ${#TIMES[@]} restore times were marked"
log "$n numbered rows committed; restore times: ${#TIMES[@]}"

step "the restore window: from the volume's creation to within seconds of now"
shown="$(jc "$STORE" volume show pg)"
earliest="$(jq -er .EarliestRestorableTime <<<"$shown")"
latest="$(jq -er .LatestRestorableTime <<<"$shown")"
log "EarliestRestorableTime $earliest, LatestRestorableTime $latest"
(($(ns_of "$earliest") <= CREATED_NS)) || fail "the window starts after the volume was created: $earliest"
lag_ms=$((($(now_ns) - $(ns_of "$latest")) / 1000000))
((lag_ms < 10000)) || fail "LatestRestorableTime is ${lag_ms} ms behind now"
backup_bytes="$(jc "$STORE" volume usage pg | jq -er .BackupStorageBytes)"
((backup_bytes > 0)) || fail "BackupStorageBytes is $backup_bytes after ${RUN_SECONDS}s of commits"
log "BackupStorageBytes $backup_bytes"

step "bad times and names are refused and change nothing"
volumes_before="$(jc "$STORE" volume list | jq -c '[.Volumes[].VolumeIdentifier]')"
ctl_as root volume restore-to-time pg early --restore-time "$(rfc3339 $((CREATED_NS - 60000000000)))"
expect_error InvalidRestoreTime
grep -q "outside the restore window of volume 'pg'" "$LAST.e" || fail "the error does not name the window: $(cat "$LAST.e")"
ctl_as root volume restore-to-time pg late --restore-time "$(rfc3339 $(($(now_ns) + 3600000000000)))"
expect_error InvalidRestoreTime
ctl_as root volume restore-to-time pg bad --restore-time "yesterday"
expect_error InvalidParameterValue
ctl_as root volume restore-to-time pg neither
expect_error InvalidParameterCombination
ctl_as root volume restore-to-time nope x --use-latest-restorable-time
expect_error VolumeNotFound
ctl_as root volume restore-to-time pg pg --use-latest-restorable-time
expect_error VolumeAlreadyExists
ctl_as root volume restore-to-time pg bad--name --use-latest-restorable-time
expect_error InvalidParameterValue
[[ "$(jc "$STORE" volume list | jq -c '[.Volumes[].VolumeIdentifier]')" == "$volumes_before" ]] ||
  fail "a refused restore changed the volumes"

# check_restored NAME T_NS: NAME holds the database as of T_NS.
check_restored() {
  local name=$1 t=$2 dir="$T/$1" loop cport got missing extra late
  mkdir -p "$dir"
  loop_attach loop "$M/volumes/$name"
  mount "$loop" "$dir" || fail "$name: mounting its ext4 failed"
  rm -f "$dir/pgdata/postmaster.pid"  # the source's server was running at T
  cport="$(free_port)"
  pg_start "$dir/pgdata" "$cport" "$PGRUN/$name.log" "$START_TIMEOUT"
  grep -q "automatic recovery in progress" "$PGRUN/$name.log" ||
    fail "$name did not go through crash recovery: $(head -n 20 "$PGRUN/$name.log")"
  pg_amcheck_clean "$cport" "$name"
  pg_sql "$cport" "select n from numbered order by n" >"$T/$name.rows"
  # Every row whose commit returned before T, none begun after T.
  awk -v t="$t" '$3 < t {print $1}' "$COMMITS" >"$T/$name.must"
  awk -v t="$t" '$2 > t {print $1}' "$COMMITS" >"$T/$name.mustnot"
  missing="$(comm -23 <(sort "$T/$name.must") <(sort "$T/$name.rows") | head -n 5 | tr '\n' ' ')"
  [[ -z "$missing" ]] || fail "$name lacks rows committed before T: $missing"
  extra="$(comm -12 <(sort "$T/$name.mustnot") <(sort "$T/$name.rows") | head -n 5 | tr '\n' ' ')"
  [[ -z "$extra" ]] || fail "$name holds rows begun after T: $extra"
  late="$(pg_sql "$cport" "select count(*) from stamps where ts > to_timestamp($t / 1e9) + interval '50 ms'")"
  ((late == 0)) || fail "$name holds $late stamped rows from after T"
  got="$(pg_sql "$cport" "select count(*) from stamps")"
  ((got > 0)) || fail "$name holds no stamped row"
  log "$name: $(wc -l <"$T/$name.rows") numbered rows ($(wc -l <"$T/$name.must") committed before T), $got stamped, none after T"
  pg_stop "$dir/pgdata"
  umount "$dir" || fail "umount $dir"
  loop_detach "$loop"
}

step "restore to each time, the latest first"
for ((k = ${#TIMES[@]} - 1; k >= 0; k--)); do
  t=${TIMES[$k]}
  t0=$(now_ns)
  jc "$STORE" volume restore-to-time pg "pitr$k" --restore-time "$(rfc3339 "$t")" >/dev/null
  log "pitr$k restored to $(rfc3339 "$t") in $((($(now_ns) - t0) / 1000000)) ms"
  check_restored "pitr$k" "$t"
done

step "the latest restorable time, then a clone's own window"
latest="$(jc "$STORE" volume show pg | jq -er .LatestRestorableTime)"
jc "$STORE" volume restore-to-time pg pitr-latest --use-latest-restorable-time >/dev/null
check_restored pitr-latest "$(ns_of "$latest")"
ctl volume clone pg pgclone >/dev/null
clone_created="$(jc "$STORE" volume show pgclone | jq -er .EarliestRestorableTime)"
ctl_as root volume restore-to-time pgclone cl-early --restore-time "$(rfc3339 "${TIMES[0]}")"
expect_error InvalidRestoreTime
grep -q "clone's window starts when it was created" "$LAST.e" || fail "no reason given: $(cat "$LAST.e")"
jc "$STORE" volume restore-to-time pgclone cl-ok --restore-time "$clone_created" >/dev/null

step "a daemon restart keeps the window"
pg_stop "$PGDATA"
umount "$E"
loop_detach "$LOOP"
unmount_store "$STORE" "$M"
mount_store "$STORE" "$M"
jc "$STORE" volume restore-to-time pg pitr-after-restart --restore-time "$(rfc3339 "${TIMES[1]}")" >/dev/null
check_restored pitr-after-restart "${TIMES[1]}"
for v in cl-ok pgclone pitr-latest pitr-after-restart; do ctl volume delete "$v" >/dev/null || fail "delete $v"; done
for ((k = 0; k < ${#TIMES[@]}; k++)); do ctl volume delete "pitr$k" >/dev/null || fail "delete pitr$k"; done
ctl volume delete pg >/dev/null || fail "delete pg"
assert_no_corruption
unmount_store "$STORE" "$M"

