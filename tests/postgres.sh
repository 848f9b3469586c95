#!/usr/bin/env bash
# PostgreSQL 15 on ext4 on a loop device on a volume: initdb, pgbench -i and a short pgbench
# run; stop, unmount everything, remount the store, start again; the row counts match and
# pg_amcheck --heapallindexed finds nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_pg.sh"
t_init "$@"
need_loop
pg_require

M="$T/mnt"
E="$T/ext4"
VOL="$M/volumes/pg"
PGDATA="$E/pgdata"
PORT="$(free_port)"
mkdir -p "$E"
pg_rundir "$T/pg"  # socket and server log, outside the volume

counts() {
  pg_sql "$PORT" "select (select count(*) from pgbench_accounts), (select count(*) from pgbench_branches),
                        (select count(*) from pgbench_tellers), (select count(*) from pgbench_history),
                        (select sum(abalance) from pgbench_accounts), (select sum(delta) from pgbench_history)"
}

step "store, 1 GiB volume, loop, ext4"
new_store "$T/store"
mount_store "$STORE" "$M"
ctl volume create pg --size 1G >/dev/null
loop_attach LOOP "$VOL"
mkfs.ext4 -q -F "$LOOP"
mount "$LOOP" "$E"

step "initdb, pgbench -i -s 10, pgbench -c 4 -j 2 -T 20"
pg_initdb "$PGDATA" "$PGRUN/initdb.log"
pg_start "$PGDATA" "$PORT" "$PGRUN/server.log"
pg_client pgbench "$PORT" -i -s 10 -q postgres >"$PGRUN/init.log" 2>&1 ||
  { cat "$PGRUN/init.log"; fail "pgbench -i failed"; }
pg_client pgbench "$PORT" -c 4 -j 2 -T 20 postgres >"$PGRUN/run.log" 2>&1 ||
  { cat "$PGRUN/run.log"; fail "pgbench run failed"; }
pg_bench_summary "$PGRUN/run.log"
before="$(counts)"
log "row counts (accounts|branches|tellers|history|sum abalance|sum delta): $before"
IFS='|' read -r accounts branches tellers history _ _ <<<"$before"
((accounts == 1000000 && branches == 10 && tellers == 100)) || fail "unexpected pgbench table sizes: $before"
((history > 0)) || fail "pgbench committed no transactions"
pg_stop "$PGDATA"

step "unmount everything, remount the store"
umount "$E"
loop_detach "$LOOP"
unmount_store "$STORE" "$M"
mount_store "$STORE" "$M"
loop_attach LOOP "$VOL"
e2fsck -fn "$LOOP" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn reports problems"; }
mount "$LOOP" "$E"

step "start again: same rows, pg_amcheck clean"
pg_start "$PGDATA" "$PORT" "$PGRUN/server.log"
after="$(counts)"
log "row counts after remount: $after"
[[ "$after" == "$before" ]] || fail "row counts changed across remount: before $before, after $after"
pg_client pg_amcheck "$PORT" --all --heapallindexed --install-missing \
  >"$PGRUN/amcheck.log" 2>&1 || { cat "$PGRUN/amcheck.log"; fail "pg_amcheck found corruption"; }
[[ ! -s "$PGRUN/amcheck.log" ]] || { cat "$PGRUN/amcheck.log"; fail "pg_amcheck reported something"; }
log "pg_amcheck --all --heapallindexed: clean"
pg_stop "$PGDATA"
umount "$E"
loop_detach "$LOOP"
unmount_store "$STORE" "$M"
assert_no_corruption
