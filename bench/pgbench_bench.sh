#!/usr/bin/env bash
# pgbench TPS with PostgreSQL 15 on ext4-on-loop-on-volume vs ext4-on-loop-on-plain-file.
#
#   bench/pgbench_bench.sh [--write] [--no-build] [DURATION_S [REPS [SCALE [CLIENTS]]]]
#                                                 (default 30 3 20 8)
#
# Both images are the same size (4 GiB) on the same filesystem, attached the same way
# (losetup --direct-io=on, or as $LOOP_OPTS says), each with its own server (same settings).
# After pgbench -i on both, the runs alternate plain, volume, plain, volume, ... each preceded
# by a CHECKPOINT. The table shows each run's TPS, the medians and the ratio volume/plain.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=../tests/lib_pg.sh
source "$BENCH_ROOT/tests/lib_pg.sh"
bench_parse_args "DURATION=30 REPS=3 SCALE=20 CLIENTS=8" "$@"
LOOP_OPTS="${LOOP_OPTS:---direct-io=on}"
IMAGE_SIZE=4G
bench_setup
need_loop

pg_require
M="$T/mnt"
pg_rundir "$T/pg"
declare -A PORT

step "store, images, loops, ext4, initdb"
new_store "$T/store"
mount_store "$STORE" "$M" daemon
ctl volume create pgbench --size "$IMAGE_SIZE" >/dev/null
truncate -s "$IMAGE_SIZE" "$T/plain.img"
for side in plain volume; do
  img="$T/plain.img"
  [[ $side == volume ]] && img="$M/volumes/pgbench"
  # shellcheck disable=SC2086
  loop_attach dev "$img" $LOOP_OPTS
  mkfs.ext4 -q -F "$dev"
  mkdir -p "$T/$side"
  mount "$dev" "$T/$side"
  data="$T/$side/pgdata"
  # SQL_ASCII: what initdb chooses for locale C when it is given no encoding.
  pg_initdb "$data" "$PGRUN/initdb.$side.log" SQL_ASCII
  PORT[$side]="$(free_port)"
  pg_start "$data" "${PORT[$side]}" "$PGRUN/$side.log" 120 "-c shared_buffers=256MB -c max_wal_size=2GB"
  pg_client pgbench "${PORT[$side]}" -i -s "$SCALE" -q postgres >/dev/null 2>&1 ||
    fail "pgbench -i on $side failed"
  log "$side: $dev, port ${PORT[$side]}, pgbench scale $SCALE loaded"
done

declare -A TPS
for rep in $(seq "$REPS"); do
  for side in plain volume; do
    pg_sql "${PORT[$side]}" CHECKPOINT
    pg_client pgbench "${PORT[$side]}" -c "$CLIENTS" -j 2 -T "$DURATION" postgres \
      >"$T/run.$side.$rep.out" 2>&1 || { cat "$T/run.$side.$rep.out"; fail "pgbench on $side failed"; }
    TPS[$side.$rep]="$(sed -n 's/^tps = \([0-9]*\).*/\1/p' "$T/run.$side.$rep.out" | head -n 1)"
    log "rep $rep $side: ${TPS[$side.$rep]} TPS"
  done
done

out="$T/table.md"
{
  echo "### pgbench: ext4 on a loop device on a volume vs on a plain file"
  echo
  bench_measured
  echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), shared_buffers=256MB, max_wal_size=2GB;"
  echo "$IMAGE_SIZE images, \`losetup $LOOP_OPTS\`, mkfs.ext4 defaults; \`pgbench -i -s $SCALE\`, then"
  echo "\`pgbench -c $CLIENTS -j 2 -T $DURATION\` (TPC-B-like), $REPS runs per side, alternating."
  echo
  echo "| run | plain file TPS | volume TPS |"
  echo "| --- | ---: | ---: |"
  p=() v=()
  for rep in $(seq "$REPS"); do
    echo "| $rep | ${TPS[plain.$rep]} | ${TPS[volume.$rep]} |"
    p+=("${TPS[plain.$rep]}")
    v+=("${TPS[volume.$rep]}")
  done
  pm="$(median "${p[@]}")"
  vm="$(median "${v[@]}")"
  r="$(ratio "$vm" "$pm")"
  echo "| **median** | **$pm** | **$vm** |"
  echo
  met="$(meets "$vm" "$pm" 0.7)"
  echo "Volume/plain: **$r** (target ≥ 0.7: $([[ $met == yes ]] && echo met || echo "not met"))."
} >"$out"

for data in "${T_PGDATA[@]}"; do
  pg_stop "$data"
done
bench_publish pgbench_bench "$out"
