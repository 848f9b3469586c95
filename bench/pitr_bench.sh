#!/usr/bin/env bash
# What point-in-time restore costs the write path: pgbench TPS and fio 4 KiB random writes
# (with an fsync every 32) on ext4 on a loop device on a volume whose store keeps a 7-day
# restore window, vs the same on a store with restore points off (`-o pitr=off`).
#
#   bench/pitr_bench.sh [--write] [--no-build] [DURATION_S [REPS [SCALE [CLIENTS]]]]
#                                               (default 20 3 20 8)
#
# Two stores, two daemons, each with a 4 GiB volume (retention 7 days), `losetup
# --direct-io=on`, ext4 and a PostgreSQL server of its own (same settings). Runs alternate off,
# on, off, on, ... each pgbench run preceded by a CHECKPOINT; then the fio runs alternate the
# same way. The table shows each run, the medians and the ratio on/off (target ≥ 0.9).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=../tests/lib_pg.sh
source "$BENCH_ROOT/tests/lib_pg.sh"
bench_parse_args "DURATION=20 REPS=3 SCALE=20 CLIENTS=8" "$@"
IMAGE_SIZE=4G
FIO_SIZE=1G
bench_setup
need_loop
pg_require
pg_rundir "$T/pg"
declare -A PORT STORES

step "two stores (restore points off / on), volumes, loops, ext4, initdb"
for side in off on; do
  STORES[$side]="$T/store-$side"
  new_store "${STORES[$side]}"
  MOUNT_OPTS="pitr=$side" mount_store "${STORES[$side]}" "$T/mnt-$side" daemon
  "$CLONECTL" --store "${STORES[$side]}" volume create pg --size "$IMAGE_SIZE" \
    --backup-retention-period 7 >/dev/null || fail "volume create on $side"
  loop_attach dev "$T/mnt-$side/volumes/pg" --direct-io=on
  mkfs.ext4 -q -F "$dev"
  mkdir -p "$T/$side"
  mount "$dev" "$T/$side"
  pg_initdb "$T/$side/pgdata" "$PGRUN/initdb.$side.log" SQL_ASCII
  PORT[$side]="$(free_port)"
  pg_start "$T/$side/pgdata" "${PORT[$side]}" "$PGRUN/$side.log" 120 \
    "-c shared_buffers=256MB -c max_wal_size=2GB"
  pg_client pgbench "${PORT[$side]}" -i -s "$SCALE" -q postgres >/dev/null 2>&1 ||
    fail "pgbench -i on $side failed"
  fio --name=layout --filename="$T/$side/fio.dat" --direct=1 --ioengine=libaio --rw=write \
    --bs=1m --iodepth=8 --size="$FIO_SIZE" --output=/dev/null || fail "fio layout on $side"
  log "$side: $dev, port ${PORT[$side]}, pgbench scale $SCALE loaded, $FIO_SIZE fio file"
done

declare -A TPS IOPS
for rep in $(seq "$REPS"); do
  for side in off on; do
    pg_sql "${PORT[$side]}" CHECKPOINT
    pg_client pgbench "${PORT[$side]}" -c "$CLIENTS" -j 2 -T "$DURATION" postgres \
      >"$T/run.$side.$rep.out" 2>&1 || { cat "$T/run.$side.$rep.out"; fail "pgbench on $side failed"; }
    TPS[$side.$rep]="$(sed -n 's/^tps = \([0-9]*\).*/\1/p' "$T/run.$side.$rep.out" | head -n 1)"
    log "rep $rep $side: ${TPS[$side.$rep]} TPS"
  done
done
for rep in $(seq "$REPS"); do
  for side in off on; do
    fio --name=randwrite --filename="$T/$side/fio.dat" --direct=1 --ioengine=libaio \
      --size="$FIO_SIZE" --time_based --runtime="$((DURATION / 2))" --ramp_time=2 \
      --randrepeat=0 --norandommap --rw=randwrite --bs=4k --iodepth=32 --fsync=32 \
      --output-format=json --output="$T/fio.$side.$rep.json" >/dev/null || fail "fio on $side"
    IOPS[$side.$rep]="$(fio_result "$T/fio.$side.$rep.json" randwrite)"
    log "rep $rep $side: ${IOPS[$side.$rep]} IOPS"
  done
done
window="$("$CLONECTL" --store "${STORES[on]}" --json volume show pg |
  jq -r '"\(.EarliestRestorableTime) to \(.LatestRestorableTime)"')"
backup="$("$CLONECTL" --store "${STORES[on]}" --json volume usage pg | jq -r .BackupStorageBytes)"

out="$T/table.md"
{
  echo "### Point-in-time restore: the write path with a 7-day restore window vs without"
  echo
  bench_measured
  echo "Two stores in one run, one with \`-o pitr=off\`; on each a 4 GiB volume (retention 7 days),"
  echo "\`losetup --direct-io=on\`, ext4, PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}')"
  echo "(shared_buffers=256MB, max_wal_size=2GB). \`pgbench -i -s $SCALE\`, then \`pgbench -c $CLIENTS"
  echo "-j 2 -T $DURATION\`; fio 4 KiB randwrite, iodepth 32, direct, \`--fsync=32\`, on a $FIO_SIZE file"
  echo "in the ext4, $((DURATION / 2)) s. $REPS runs per side, alternating."
  echo
  echo "| run | pgbench TPS, off | pgbench TPS, on | fio IOPS, off | fio IOPS, on |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  po=() pn=() fo=() fn=()
  for rep in $(seq "$REPS"); do
    echo "| $rep | ${TPS[off.$rep]} | ${TPS[on.$rep]} | ${IOPS[off.$rep]} | ${IOPS[on.$rep]} |"
    po+=("${TPS[off.$rep]}") pn+=("${TPS[on.$rep]}") fo+=("${IOPS[off.$rep]}") fn+=("${IOPS[on.$rep]}")
  done
  pom="$(median "${po[@]}")" pnm="$(median "${pn[@]}")"
  fom="$(median "${fo[@]}")" fnm="$(median "${fn[@]}")"
  echo "| **median** | **$pom** | **$pnm** | **$fom** | **$fnm** |"
  echo
  for job in pgbench fio; do
    if [[ $job == pgbench ]]; then a=$pnm b=$pom; else a=$fnm b=$fom; fi
    met="$(meets "$a" "$b" 0.9)"
    echo "- $job, on/off: **$(ratio "$a" "$b")** (target ≥ 0.9: $([[ $met == yes ]] && echo met || echo "not met"))"
  done
  echo
  echo "After the runs the volume's restore window was $window, holding $(numfmt --to=iec-i --suffix=B "$backup") only it reads (BackupStorageBytes)."
} >"$out"

for data in "${T_PGDATA[@]}"; do
  pg_stop "$data"
done
bench_publish pitr_bench "$out"
