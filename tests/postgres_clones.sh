#!/usr/bin/env bash
# Crash-consistent clones of a live database: PostgreSQL 15 on ext4 on a loop device on a
# volume, pgbench running; three clones taken a few seconds apart while it runs. Each clone,
# loop-mounted (ext4 replays its journal), starts PostgreSQL on another port (crash recovery),
# passes pg_amcheck --heapallindexed and holds a committed state (pgbench's balances add up);
# writes to a clone do not reach the source. Then the source volume is deleted and a clone is
# used again: PostgreSQL starts, keeps the clone's own writes, runs pgbench, stays clean.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_pg.sh"
t_init "$@"
need_loop
pg_require

M="$T/mnt"
pg_rundir "$T/pg"  # sockets and server logs, outside the volumes
SCALE=10
CLONES=(pgc1 pgc2 pgc3)
START_TIMEOUT=300  # seconds pg_start waits for a server (a clone's start is a crash recovery)

# The pgbench tables: row counts, and whether every balance adds up to the history's deltas
# (pgbench updates an account, a teller and a branch and inserts a history row in one
# transaction, so in any committed state the four sums are equal).
state() {
  pg_sql "$1" "select (select count(*) from pgbench_accounts), (select count(*) from pgbench_branches),
                      (select count(*) from pgbench_tellers), (select count(*) from pgbench_history),
                      (select coalesce(sum(delta), 0) from pgbench_history),
                      (select sum(abalance) from pgbench_accounts),
                      (select sum(tbalance) from pgbench_tellers),
                      (select sum(bbalance) from pgbench_branches)"
}
# check_state WHAT STATE: the counts and sums of a committed pgbench state.
check_state() {
  local accounts branches tellers delta abal tbal bbal
  IFS="|" read -r accounts branches tellers _ delta abal tbal bbal <<<"$2"
  ((accounts == SCALE * 100000 && branches == SCALE && tellers == SCALE * 10)) ||
    fail "$1: unexpected pgbench table sizes: $2"
  [[ "$abal" == "$delta" && "$tbal" == "$delta" && "$bbal" == "$delta" ]] ||
    fail "$1: balances do not add up to the history (not a committed state): $2"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# open_clone NAME: loop-attaches volumes/NAME, mounts its ext4 (replaying the journal) at
# $T/NAME and sets CLOOP and CDATA.
open_clone() {
  mkdir -p "$T/$1"
  loop_attach CLOOP "$M/volumes/$1"
  mount "$CLOOP" "$T/$1" || fail "mounting the ext4 of clone $1 failed"
  CDATA="$T/$1/pgdata"
  [[ -d "$CDATA" ]] || fail "clone $1 has no $CDATA"
}
# close_clone NAME: unmounts the clone's ext4, checks it with e2fsck -fn, detaches its loop.
close_clone() {
  umount "$T/$1" || fail "umount $T/$1"
  e2fsck -fn "$CLOOP" >"$T/fsck.$1.out" 2>&1 || { cat "$T/fsck.$1.out"; fail "e2fsck -fn on clone $1 reports problems"; }
  loop_detach "$CLOOP"
}

step "store, 1 GiB volume, loop, ext4, initdb"
new_store "$T/store"
mount_store "$STORE" "$M"
ctl volume create pg --size 1G >/dev/null
E="$T/src"
mkdir -p "$E"
loop_attach LOOP "$M/volumes/pg"
mkfs.ext4 -q -F "$LOOP"
mount "$LOOP" "$E"
PGDATA="$E/pgdata"
pg_initdb "$PGDATA" "$PGRUN/initdb.log"
PORT="$(free_port)"
pg_start "$PGDATA" "$PORT" "$PGRUN/source.log" "$START_TIMEOUT"

step "pgbench -i -s $SCALE"
pg_client pgbench "$PORT" -i -s $SCALE -q postgres >"$PGRUN/init.log" 2>&1 ||
  { cat "$PGRUN/init.log"; fail "pgbench -i failed"; }
pg_sql "$PORT" "checkpoint"
check_state "source after pgbench -i" "$(state "$PORT")"

step "pgbench -c 4 -j 2 -T 30; three clones while it runs"
pg_client pgbench "$PORT" -c 4 -j 2 -T 30 postgres >"$PGRUN/run.log" 2>&1 &
BENCH=$!
for c in "${CLONES[@]}"; do
  sleep 6
  pid_alive "$BENCH" || { cat "$PGRUN/run.log"; fail "pgbench ended before clone $c was taken"; }
  t0=$(now_ms)
  ctl --json volume clone pg "$c" >"$T/clone.$c.json" || fail "volume clone pg $c failed: $(cat "$T/clone.$c.json")"
  log "clone $c taken in $(($(now_ms) - t0)) ms while pgbench runs"
  [[ -f "$M/volumes/$c" ]] || fail "clone $c is not in the mount"
done
pid_alive "$BENCH" || fail "pgbench ended before the last clone was taken: the clones did not see a live database"
rc=0
wait "$BENCH" || rc=$?
((rc == 0)) || { cat "$PGRUN/run.log"; fail "pgbench run failed (exit $rc)"; }
pg_bench_summary "$PGRUN/run.log"
src_state="$(state "$PORT")"
check_state "source after pgbench" "$src_state"
src_history="$(cut -d'|' -f4 <<<"$src_state")"
((src_history > 0)) || fail "pgbench committed nothing"
log "source: $src_state"

step "each clone: journal replay, crash recovery, pg_amcheck, a committed state, isolated writes"
prev_history=0
for c in "${CLONES[@]}"; do
  open_clone "$c"
  # The clone was taken with the source's postmaster running: its postmaster.pid names a live
  # process, which PostgreSQL would take as a server already running on this data directory.
  rm -f "$CDATA/postmaster.pid"
  CPORT="$(free_port)"
  pg_start "$CDATA" "$CPORT" "$PGRUN/$c.log" "$START_TIMEOUT"
  grep -q "database system was not properly shut down; automatic recovery in progress" "$PGRUN/$c.log" ||
    fail "$c did not go through crash recovery, so it is no image of a running server: $(head -n 20 "$PGRUN/$c.log")"
  pg_amcheck_clean "$CPORT" "$c"
  st="$(state "$CPORT")"
  log "$c: $st"
  check_state "clone $c" "$st"
  h="$(cut -d'|' -f4 <<<"$st")"
  ((h <= src_history)) || fail "clone $c has $h history rows, more than the source's final $src_history"
  ((h >= prev_history)) || fail "clone $c has $h history rows, fewer than the clone taken before it ($prev_history)"
  ((h > 0)) || fail "clone $c has no pgbench transaction although pgbench ran for seconds before it"
  prev_history=$h
  [[ "$(pg_sql "$CPORT" "select to_regclass('clone_only') is null")" == t ]] ||
    fail "clone $c sees clone_only, written to another clone"
  src_sum="$(pg_sql "$PORT" "select sum(abalance) from pgbench_accounts where aid <= 1000")"
  # Writes of the clone's own, in one transaction that keeps pgbench's sums equal.
  pg_sql "$CPORT" "create table clone_only as select '$c'::text as name, g from generate_series(1, 10000) g;
                   update pgbench_accounts set abalance = abalance + 1000000 where aid <= 1000;
                   insert into pgbench_history (tid, bid, aid, delta, mtime)
                     select 1, 1, aid, 1000000, now() from generate_series(1, 1000) aid;
                   update pgbench_tellers set tbalance = tbalance + 1000000000 where tid = 1;
                   update pgbench_branches set bbalance = bbalance + 1000000000 where bid = 1"
  pg_sql "$CPORT" "checkpoint"
  check_state "clone $c after its own writes" "$(state "$CPORT")"
  [[ "$(pg_sql "$CPORT" "select count(*) from clone_only")" == 10000 ]] || fail "clone $c: clone_only"
  [[ "$(pg_sql "$PORT" "select to_regclass('clone_only') is null")" == t ]] || fail "the source sees clone_only created on $c"
  [[ "$(pg_sql "$PORT" "select sum(abalance) from pgbench_accounts where aid <= 1000")" == "$src_sum" ]] ||
    fail "an update on clone $c changed the source's balances"
  pg_stop "$CDATA"
  close_clone "$c"
done
check_state "source after the clones were written" "$(state "$PORT")"
[[ "$(state "$PORT")" == "$src_state" ]] || fail "the source changed while only the clones were written"

step "stop the source, delete its volume, keep using a clone"
pg_stop "$PGDATA"
umount "$E"
loop_detach "$LOOP"
ctl volume delete pg >/dev/null || fail "volume delete pg failed"
[[ ! -e "$M/volumes/pg" ]] || fail "the deleted source is still in the mount"
ctl gc >/dev/null || fail "gc failed"
C=pgc2
open_clone "$C"
CPORT="$(free_port)"
pg_start "$CDATA" "$CPORT" "$PGRUN/$C.again.log" "$START_TIMEOUT"
[[ "$(pg_sql "$CPORT" "select count(*) || ' ' || min(name) from clone_only")" == "10000 $C" ]] ||
  fail "clone $C lost its own table after its source was deleted"
check_state "clone $C after the source was deleted" "$(state "$CPORT")"
# -n: no vacuum, so pgbench keeps the history (and the sums stay comparable).
pg_client pgbench "$CPORT" -n -c 2 -j 2 -T 10 postgres >"$PGRUN/run.$C.log" 2>&1 ||
  { cat "$PGRUN/run.$C.log"; fail "pgbench on clone $C failed"; }
pg_bench_summary "$PGRUN/run.$C.log"
check_state "clone $C after its own pgbench" "$(state "$CPORT")"
pg_amcheck_clean "$CPORT" "$C.again"
pg_stop "$CDATA"
close_clone "$C"
for c in "${CLONES[@]}"; do ctl volume delete "$c" >/dev/null || fail "volume delete $c failed"; done
unmount_store "$STORE" "$M"
