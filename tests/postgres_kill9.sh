#!/usr/bin/env bash
# kill -9 of the daemon under PostgreSQL, cycle after cycle: pgbench loads a server on ext4 on
# a loop device on a volume while two clients commit numbered rows one transaction at a time
# and log each number once its COMMIT has returned. Then the daemon is killed with SIGKILL. After
# each kill: remount the store, attach and mount again, PostgreSQL recovers, every logged row
# is there and pg_amcheck --heapallindexed is clean.
#
# CLONEFS_KILL9_CYCLES cycles: 3 by default (CI); the full campaign is 100:
#   CLONEFS_KILL9_CYCLES=100 bash tests/postgres_kill9.sh build/tools/clonefs build/tools/clonectl
#     build/tools/clonefs-export
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_pg.sh"
t_init "$@"
need_loop
pg_require

CYCLES="${CLONEFS_KILL9_CYCLES:-3}"
[[ $CYCLES =~ ^[1-9][0-9]*$ ]] || fail "CLONEFS_KILL9_CYCLES must be a positive number, not '$CYCLES'"
M="$T/mnt"
E="$T/ext4"
VOL="$M/volumes/pg"
PGDATA="$E/pgdata"
PORT="$(free_port)"
ACKED="$T/acked" # outside the store: survives the daemon
mkdir -p "$E" "$ACKED"
pg_rundir "$T/pg"

attach_and_mount() {
  loop_attach LOOP "$VOL"
  mount "$LOOP" "$E" || fail "mount of $LOOP (ext4 on $VOL) failed"
}

# committer CYCLE CLIENT: inserts rows numbered CYCLE*10^8 + CLIENT*10^7 + i, one autocommit
# transaction each, and prints each number after its INSERT returned (psql's \echo runs only
# then); line-buffered, so a number in the log was committed before the line was written.
committer() {
  local base=$(($1 * 100000000 + $2 * 10000000))
  for ((i = 1; i < 10000000; i++)); do
    printf 'insert into acked_rows values (%d);\n\\echo %d\n' $((base + i)) $((base + i))
  done | pg_client psql "$PORT" -X -q -v ON_ERROR_STOP=1 -d postgres 2>/dev/null |
    stdbuf -oL cat >"$ACKED/$1.$2"
}

acked_count() { { cat "$ACKED"/* 2>/dev/null || true; } | wc -l; }

# check_acked WHAT: every logged row is in the table.
check_acked() {
  local list="$PGRUN/acked.list" missing
  cat "$ACKED"/* >"$list" 2>/dev/null || true
  chmod 644 "$list"
  missing="$(pg_sql "$PORT" "create temp table logged (id bigint);
    copy logged from '$list';
    select count(*) from logged l left join acked_rows a using (id) where a.id is null")" ||
    fail "$1: cannot compare the logged commits"
  [[ $missing == 0 ]] || fail "$1: $missing of $(wc -l <"$list") committed rows are missing"
  log "$1: all $(wc -l <"$list") committed rows are there"
}

# stop_everything_after_kill: the daemon is gone, so the volume's I/O fails: stop the server
# and the clients, unmount ext4, detach the loop device.
stop_everything_after_kill() {
  local pid
  pid="$(head -1 "$PGDATA/postmaster.pid" 2>/dev/null)" || pid=""
  pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  if [[ -n $pid ]]; then
    kill -9 "$pid" 2>/dev/null || true
    wait_gone "$pid" 30 || fail "postmaster $pid survived kill -9"
  fi
  pkill -9 -u "$PG_OS_USER" -f "postgres: .*$PORT|pgbench .*-p $PORT|psql .*-p $PORT" 2>/dev/null || true
  for job in $(jobs -p); do
    wait_gone "$job" 30 || kill -9 "$job" 2>/dev/null
    wait "$job" 2>/dev/null || true
  done
  umount "$E" 2>/dev/null || umount -l "$E" || fail "cannot unmount $E after the kill"
  loop_detach "$LOOP"
}

step "store, 1 GiB volume, loop, ext4, PostgreSQL, pgbench -i -s 5"
new_store "$T/store"
mount_store "$STORE" "$M"
ctl volume create pg --size 1G >/dev/null
loop_attach LOOP "$VOL"
mkfs.ext4 -q -F "$LOOP"
mount "$LOOP" "$E"
pg_initdb "$PGDATA" "$PGRUN/initdb.log"
pg_start "$PGDATA" "$PORT" "$PGRUN/server.log"
pg_client pgbench "$PORT" -i -s 5 -q postgres >"$PGRUN/init.log" 2>&1 ||
  { cat "$PGRUN/init.log"; fail "pgbench -i failed"; }
pg_sql "$PORT" "create table acked_rows (id bigint primary key)" >/dev/null

for cycle in $(seq "$CYCLES"); do
  step "cycle $cycle of $CYCLES: pgbench and two committers, then kill -9 of the daemon"
  before=$(acked_count)
  pg_client pgbench "$PORT" -c 4 -j 2 -T 300 postgres >"$PGRUN/run.$cycle.log" 2>&1 &
  committer "$cycle" 1 &
  committer "$cycle" 2 &
  deadline=$(($(date +%s) + 60))
  sleep 2
  until (($(acked_count) - before >= 300)); do
    (($(date +%s) < deadline)) || fail "cycle $cycle: only $(($(acked_count) - before)) commits in 60 s"
    sleep 0.2
  done
  sleep "0.$((RANDOM % 10))"  # the kill lands anywhere in the commit stream
  kill9_store "$STORE" "$M"
  log "cycle $cycle: $(($(acked_count) - before)) commits logged before the kill"
  stop_everything_after_kill

  step "cycle $cycle: remount, recover, check"
  mount_store "$STORE" "$M"
  attach_and_mount
  # The server that died could not remove its lock file (its disk had gone); it is not running,
  # as after a machine crash, where PostgreSQL ignores a lock file naming no live process.
  rm -f "$PGDATA/postmaster.pid"
  recoveries=$(grep -c "automatic recovery in progress" "$PGRUN/server.log" || true)
  pg_start "$PGDATA" "$PORT" "$PGRUN/server.log"
  (($(grep -c "automatic recovery in progress" "$PGRUN/server.log") > recoveries)) ||
    fail "cycle $cycle: PostgreSQL started without crash recovery: the kill did not hit it"
  check_acked "cycle $cycle"
  pg_amcheck_clean "$PORT" "cycle $cycle"
done

step "clean shutdown"
pg_stop "$PGDATA"
umount "$E"
loop_detach "$LOOP"
unmount_store "$STORE" "$M"
assert_no_corruption
