#!/usr/bin/env bash
# Scale: how the time to mount, to list volumes and to create a snapshot or a clone, and the
# daemon's memory and open files, grow with the data a store holds and with how many volumes
# and snapshots it has.
#
#   bench/scale_bench.sh [--write] [--no-build] [DATA_STEPS [OBJECT_STEPS [REPS]]]
#                        (default "1 10 100" "10 100 1000" 3)
#
# 1. Data written: one store, one volume (zstd-compressed pages), written sequentially with
#    fio up to each of DATA_STEPS GiB in turn (1 MiB blocks, direct I/O; every 4 KiB page holds
#    fresh random bytes and compresses to about a quarter, so that 100 GiB of pages fit on this
#    disk: the page map and the checkpoints hold one entry per page written, whatever its
#    size). After each step, on the running daemon: `volume list`, `snapshot create` and
#    `volume clone` of the written volume (each deleted again), wall time of clonectl, median
#    of REPS, with a no-op `store info` as baseline; VmRSS/VmHWM and open fds. Then
#    `store sync` and kill -9: the time until `clonefs` returns with the mount ready (crash
#    recovery); then a clean unmount and the time of a clean mount; memory and fds after each.
# 2. Objects: another store, with volumes added up to each of OBJECT_STEPS (1 GiB each, 10
#    snapshots per volume, each after a 4 KiB write of its own: bench/scale_populate.py on one
#    control connection). After each step the same figures, plus `snapshot list`.
#
# Mounts run with the default cache budget (512 MiB); the target is RSS within it plus
# 128 MiB, no figure growing linearly with data written, and open fds bounded. Prints markdown
# tables; --write also puts them into docs/BENCHMARKS.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_parse_args "DATA_STEPS=1_10_100 OBJECT_STEPS=10_100_1000 REPS=3" "$@"
read -r -a DATA_STEPS <<<"${DATA_STEPS//_/ }"
read -r -a OBJECT_STEPS <<<"${OBJECT_STEPS//_/ }"
SNAPS_PER_VOLUME=10
CACHE_MIB=512
bench_setup
command -v fio >/dev/null || fail "fio not found"
M="$T/mnt"
RES="$T/results"
mkdir -p "$RES" "$M"
OPTS="log_level=warn,backups=off,snapshot_quota=1000000,account_snapshot_quota=1000000"

now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }
ms_since() { awk -v d=$(($(now_us) - $1)) 'BEGIN {printf "%.1f", d / 1000}'; }

# timed_ms CMD...: runs CMD (output discarded) and prints its wall time in ms.
timed_ms() {
  local t0
  t0="$(now_us)"
  "$@" >/dev/null || fail "$* failed"
  ms_since "$t0"
}

# median_ms REPS CMD...: the median wall time of REPS runs of CMD.
median_ms() {
  local n=$1 i vals=()
  shift
  for ((i = 0; i < n; i++)); do vals+=("$(timed_ms "$@")"); done
  median "${vals[@]}"
}

# mount_timed: mounts $STORE at $M with clonefs as a daemon (it returns once the mount is
# ready); sets MOUNT_MS to how long that took and DAEMON_PID.
mount_timed() {
  local t0
  t0="$(now_us)"
  "$CLONEFS" "$STORE" "$M" -o "$OPTS" >"$T/mount.log" 2>&1 || { cat "$T/mount.log" >&2; fail "clonefs $STORE $M failed"; }
  MOUNT_MS="$(ms_since "$t0")"
  is_mounted "$M" || fail "clonefs returned before $M was mounted"
  DAEMON_PID="$(lock_pid "$STORE")"
  T_DAEMONS+=("$DAEMON_PID")
}

fds() { find "/proc/$DAEMON_PID/fd" -mindepth 1 | wc -l; }

# create_ms KIND SOURCE: median wall time of creating (and then deleting) a snapshot or a
# clone of SOURCE, REPS times.
create_ms() {
  local i vals=()
  for ((i = 0; i < REPS; i++)); do
    if [[ $1 == snapshot ]]; then
      vals+=("$(timed_ms ctl snapshot create "$2" "scale-snap-$i")")
      ctl snapshot delete "scale-snap-$i" >/dev/null
    else
      vals+=("$(timed_ms ctl volume clone "$2" "scale-clone-$i")")
      ctl volume delete "scale-clone-$i" >/dev/null
    fi
  done
  median "${vals[@]}"
}

# measure_live SOURCE [snapshots]: one table row's figures on the running daemon, as
# "base list [snaplist] snapshot clone rss hwm fds".
measure_live() {
  local base list snaplist="" snap clone
  base="$(median_ms "$REPS" ctl store info)"
  list="$(median_ms "$REPS" ctl volume list)"
  [[ ${2:-} == snapshots ]] && snaplist="$(median_ms "$REPS" ctl snapshot list) "
  snap="$(create_ms snapshot "$1")"
  clone="$(create_ms clone "$1")"
  echo "$base $list $snaplist$snap $clone $(rss_mib "$DAEMON_PID") $(fds)"
}

# measure_restarts: sets RESTARTS to "recovery_ms rss fds clean_ms rss fds list_ms": after
# `store sync`, kill -9 and a mount, then after a clean unmount and a mount.
measure_restarts() {
  local recovery r1 f1
  ctl store sync >/dev/null
  kill9_store "$STORE" "$M" >/dev/null
  mount_timed
  recovery=$MOUNT_MS
  r1="$(rss_mib "$DAEMON_PID")"
  f1="$(fds)"
  unmount_store "$STORE" "$M" >/dev/null
  mount_timed
  RESTARTS="$recovery ${r1%% *} $f1 $MOUNT_MS $(rss_mib "$DAEMON_PID" | cut -d' ' -f1) $(fds)"
  RESTARTS+=" $(median_ms "$REPS" ctl volume list)"
}

on_disk_mib() { du -sm "$1" | cut -f1; }

# --- 1. data written --------------------------------------------------------------------
step "data written: ${DATA_STEPS[*]} GiB"
new_store "$T/data-store"
mount_timed
last="${DATA_STEPS[-1]}"
ctl volume create data --size "$((last + 1))G" --compression zstd >/dev/null
done_gib=0
for gib in "${DATA_STEPS[@]}"; do
  ((gib > done_gib)) || fail "DATA_STEPS must increase: $gib after $done_gib"
  t0="$(now_us)"
  fio --name=fill --filename="$M/volumes/data" --direct=1 --ioengine=libaio --rw=write --bs=1m \
    --iodepth=8 --offset="${done_gib}G" --size="$((gib - done_gib))G" --refill_buffers \
    --buffer_compress_percentage=75 --buffer_compress_chunk=4096 --output=/dev/null ||
    fail "writing GiB $done_gib to $gib failed"
  log "wrote GiB $done_gib..$gib in $(ms_since "$t0") ms"
  done_gib=$gib
  live="$(measure_live data)"
  measure_restarts
  echo "$gib $live $RESTARTS $(on_disk_mib "$STORE/segments") $(on_disk_mib "$STORE/meta")" >>"$RES/data"
  log "data $gib GiB: $(tail -n 1 "$RES/data")"
done
unmount_store "$STORE" "$M"
rm -rf "$STORE"

# --- 2. volumes and snapshots -------------------------------------------------------------
step "objects: ${OBJECT_STEPS[*]} volumes, $SNAPS_PER_VOLUME snapshots each"
new_store "$T/object-store"
mount_timed
have=0
for vols in "${OBJECT_STEPS[@]}"; do
  ((vols > have)) || fail "OBJECT_STEPS must increase: $vols after $have"
  t0="$(now_us)"
  python3 "$BENCH_ROOT/bench/scale_populate.py" "$STORE/control.sock" "$M" $((have + 1)) "$vols" \
    "$SNAPS_PER_VOLUME" || fail "bench/scale_populate.py failed"
  log "created volumes $((have + 1))..$vols with $SNAPS_PER_VOLUME snapshots each in $(ms_since "$t0") ms"
  have=$vols
  count="$(ctl --json snapshot list | jq -e '.Snapshots | length')"
  ((count == vols * SNAPS_PER_VOLUME)) || fail "snapshot list shows $count snapshots, not $((vols * SNAPS_PER_VOLUME))"
  live="$(measure_live vol-1 snapshots)"
  measure_restarts
  echo "$vols $((vols * SNAPS_PER_VOLUME)) $live $RESTARTS $(on_disk_mib "$STORE/meta")" >>"$RES/objects"
  log "objects $vols: $(tail -n 1 "$RES/objects")"
done
unmount_store "$STORE" "$M"

# --- report -------------------------------------------------------------------------------
out="$T/section.md"
{
  echo "### Scale: data written, volumes and snapshots"
  echo
  bench_measured
  echo "Wall times of clonefs and clonectl in ms (clonectl: median of $REPS, its no-op \`store info\` given as the baseline each includes); memory in MiB (VmRSS, VmHWM), default cache budget $CACHE_MIB MiB; fds: the daemon's open files."
  echo
  echo "One volume, zstd-compressed 4 KiB pages, written sequentially with fio up to each size (each page random bytes that compress to about a quarter: the page map holds one entry per page whatever its size). Figures on the running daemon after the writes, then after \`store sync\`, kill -9 and a mount (crash recovery), then after a clean unmount and mount:"
  echo
  echo "| written | store info | volume list | snapshot create | clone | RSS / HWM | fds | mount after kill -9 | RSS | fds | clean mount | RSS | fds | volume list | segments MiB | meta MiB |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  while read -r gib base list snap clone rss hwm fd rec r1 f1 clean r2 f2 list2 seg meta; do
    echo "| $gib GiB | $base | $list | $snap | $clone | $rss / $hwm | $fd | $rec | $r1 | $f1 | $clean | $r2 | $f2 | $list2 | $seg | $meta |"
  done <"$RES/data"
  echo
  echo "Volumes of 1 GiB, each with $SNAPS_PER_VOLUME snapshots taken after a 4 KiB write of its own; snapshot and clone of one of them:"
  echo
  echo "| volumes | snapshots | store info | volume list | snapshot list | snapshot create | clone | RSS / HWM | fds | mount after kill -9 | RSS | fds | clean mount | RSS | fds | volume list | meta MiB |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  while read -r vols snaps base list slist snap clone rss hwm fd rec r1 f1 clean r2 f2 list2 meta; do
    echo "| $vols | $snaps | $base | $list | $slist | $snap | $clone | $rss / $hwm | $fd | $rec | $r1 | $f1 | $clean | $r2 | $f2 | $list2 | $meta |"
  done <"$RES/objects"
} >"$out"
bench_publish scale_bench "$out" pitr_bench
