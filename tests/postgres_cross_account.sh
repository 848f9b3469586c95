#!/usr/bin/env bash
# A cross-account clone of a live database. The store owner's account A runs PostgreSQL 15 on
# ext4 on a loop device on its volume, pgbench writing; A shares the volume with account B, and
# B's Unix user accepts the invitation and clones it while pgbench runs. The clone is B's alone:
# root (acting as A in the mount) cannot open it. Attached to a loop device through B's own open
# of the image, its ext4 replays its journal, and PostgreSQL started as B's user goes through
# crash recovery, passes pg_amcheck run as B's user and holds a committed pgbench state; B's
# writes stay in B's clone, and A's database goes on unchanged by them.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_pg.sh"
t_init "$@"
need_loop
pg_require

UB="cfs-pgb-$$" B=222222222222
t_useradd "$UB"
M="$T/mnt"
pg_rundir "$T/pg"
chmod 1777 "$T/pg"  # both servers' sockets and logs: A's (as postgres) and B's (as B's user)
SCALE=5
START_TIMEOUT=300

# pgbench's four sums agree in every committed state (see tests/postgres_clones.sh).
state() {
  pg_sql "$1" "select (select count(*) from pgbench_accounts), (select count(*) from pgbench_history),
                      (select coalesce(sum(delta), 0) from pgbench_history),
                      (select sum(abalance) from pgbench_accounts),
                      (select sum(tbalance) from pgbench_tellers),
                      (select sum(bbalance) from pgbench_branches)"
}
check_state() {
  local accounts delta abal tbal bbal
  IFS="|" read -r accounts _ delta abal tbal bbal <<<"$2"
  ((accounts == SCALE * 100000)) || fail "$1: $accounts pgbench accounts, not $((SCALE * 100000))"
  [[ "$abal" == "$delta" && "$tbal" == "$delta" && "$bbal" == "$delta" ]] ||
    fail "$1: balances do not add up to the history (not a committed state): $2"
}

step "account A: a 1 GiB volume, ext4, PostgreSQL, pgbench -i"
new_store "$T/store"
mount_store "$STORE" "$M"
ctl account create "$B" --user "$UB" >/dev/null || fail "account create $B failed"
REGION="$(jc "$STORE" store info | jq -er .Region)"
A="$(jc "$STORE" store info | jq -er .AccountId)"
ctl volume create prod --size 1G >/dev/null
loop_attach LOOP "$M/volumes/prod"
mkfs.ext4 -q -F "$LOOP"
mkdir -p "$T/prod"
mount "$LOOP" "$T/prod"
pg_initdb "$T/prod/pgdata" "$PGRUN/initdb.log"
PORT="$(free_port)"
pg_start "$T/prod/pgdata" "$PORT" "$PGRUN/prod.log" "$START_TIMEOUT"
pg_client pgbench "$PORT" -i -s $SCALE -q postgres >"$PGRUN/init.log" 2>&1 ||
  { cat "$PGRUN/init.log"; fail "pgbench -i failed"; }

step "A shares the volume with B; B accepts and clones it while pgbench runs"
ctl share create prod-share --resource prod --principal "$B" >/dev/null || fail "share create failed"
ctl_as "$UB" --json invitation list --status pending
expect_ok
ctl_as "$UB" invitation accept "$(jq -er '.ResourceShareInvitations[0].ResourceShareInvitationArn' "$LAST.o")"
expect_ok
pg_client pgbench "$PORT" -c 4 -j 2 -T 20 postgres >"$PGRUN/run.log" 2>&1 &
BENCH=$!
sleep 8
pid_alive "$BENCH" || { cat "$PGRUN/run.log"; fail "pgbench ended before the clone"; }
ctl_as "$UB" --json volume clone "arn:clonefs:$REGION:$A:volume:prod" staging
expect_ok
jq -e --arg b "$B" '.CrossAccountClone == true and (.VolumeArn | contains(":" + $b + ":volume:staging"))' "$LAST.o" >/dev/null ||
  fail "B's clone: $(cat "$LAST.o")"
pid_alive "$BENCH" || fail "pgbench ended before the clone was taken: no live database was cloned"
wait "$BENCH" || { cat "$PGRUN/run.log"; fail "pgbench failed"; }
pg_bench_summary "$PGRUN/run.log"
prod_state="$(state "$PORT")"
check_state "A's database" "$prod_state"

step "the clone is B's: only B's user opens it"
[[ "$(stat -c %u "$M/volumes/staging" 2>/dev/null || true)" == "" ]] || fail "root (account A) sees B's clone"
run_as "$UB" test -f "$M/volumes/staging" || fail "B's user does not see its clone"
[[ "$(run_as "$UB" stat -c %u "$M/volumes/staging")" == "$(id -u "$UB")" ]] || fail "the clone is not owned by B's user"

step "B's user starts PostgreSQL on the clone: crash recovery, pg_amcheck, a committed state"
loop_attach_as "$UB" CLOOP "$M/volumes/staging"
mkdir -p "$T/staging"
mount "$CLOOP" "$T/staging" || fail "mounting the ext4 of B's clone failed (journal replay)"
CDATA="$T/staging/pgdata"
# The clone holds A's files and A's live postmaster.pid: B takes them over.
rm -f "$CDATA/postmaster.pid"
chown -R "$UB": "$CDATA"
PG_OS_USER="$UB"
CPORT="$(free_port)"
pg_start "$CDATA" "$CPORT" "$PGRUN/staging.log" "$START_TIMEOUT"
[[ "$(ps -o user= -p "$(head -n1 "$CDATA/postmaster.pid")")" == "$UB" ]] ||
  fail "the clone's server does not run as $UB"
grep -q "database system was not properly shut down; automatic recovery in progress" "$PGRUN/staging.log" ||
  fail "the clone did not go through crash recovery: $(head -n 20 "$PGRUN/staging.log")"
pg_client pg_amcheck "$CPORT" --all --heapallindexed --install-missing >"$PGRUN/amcheck.log" 2>&1 ||
  { cat "$PGRUN/amcheck.log"; fail "pg_amcheck found corruption in B's clone"; }
log "B's clone: pg_amcheck --all --heapallindexed clean (run as $UB)"
st="$(state "$CPORT")"
check_state "B's clone" "$st"
h="$(cut -d'|' -f2 <<<"$st")"
((h > 0)) || fail "B's clone has no pgbench transaction although pgbench ran for seconds before it"
((h <= $(cut -d'|' -f2 <<<"$prod_state"))) || fail "B's clone has more history than A's final state"
log "B's clone: $st"

step "B's writes stay in B's clone"
pg_sql "$CPORT" "create table staging_only as select g from generate_series(1, 1000) g; checkpoint"
[[ "$(pg_sql "$CPORT" "select count(*) from staging_only")" == 1000 ]] || fail "B's table"
PG_OS_USER=postgres
[[ "$(pg_sql "$PORT" "select to_regclass('staging_only') is null")" == t ]] || fail "A sees B's table"
[[ "$(state "$PORT")" == "$prod_state" ]] || fail "A's database changed when B wrote its clone"
PG_OS_USER="$UB"
pg_stop "$CDATA"
umount "$T/staging"
e2fsck -fn "$CLOOP" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "e2fsck -fn on B's clone reports problems"; }
loop_detach "$CLOOP"

PG_OS_USER=postgres
pg_stop "$T/prod/pgdata"
umount "$T/prod"
loop_detach "$LOOP"
unmount_store "$STORE" "$M"
log "PASSED"
