#!/usr/bin/env bash
# fio on a clonefs volume file vs a plain file on the same filesystem, in one run.
#
#   bench/fio_bench.sh [--write] [--no-build] [RUNTIME_S [REPS [SIZE]]]   (default 20 3 2G)
#
# Jobs (direct=1, libaio): sequential write and read with 1 MiB blocks (iodepth 8), random read
# and write with 4 KiB blocks (iodepth 32). Both files are written in full before measuring,
# so every job reads or overwrites real data. Each job runs REPS times per side, interleaved;
# the table shows medians and the ratio volume/plain. Also reports the daemon's resident
# memory (VmRSS, peak VmHWM) idle, after the jobs, and after creating a 1 TiB volume and
# touching a little of it. Prints a markdown table; --write also puts it into
# docs/BENCHMARKS.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_parse_args "RUNTIME=20 REPS=3 SIZE=2G" "$@"
bench_setup
command -v fio >/dev/null || fail "fio not found"

M="$T/mnt"
PLAIN="$T/plain.img"
VOL="$M/volumes/bench"
RES="$T/results"
mkdir -p "$RES"

new_store "$T/store"
mount_store "$STORE" "$M" daemon
rss_idle="$(rss_mib "$DAEMON_PID")"
ctl volume create bench --size "$SIZE" >/dev/null
truncate -s "$SIZE" "$PLAIN"

JOBS=(seqwrite seqread randread randwrite)

step "laying out both files ($SIZE each)"
for f in "$PLAIN" "$VOL"; do
  fio_layout "$f" "$SIZE" || fail "layout of $f failed"
done

for rep in $(seq "$REPS"); do
  for job in "${JOBS[@]}"; do
    for side in plain volume; do
      file="$PLAIN"
      [[ $side == volume ]] && file="$VOL"
      fio_run "$side" "$job" "$rep" "$file"
      log "rep $rep $job $side: $(fio_value "$side" "$job" "$rep")"
    done
  done
done
rss_after_jobs="$(rss_mib "$DAEMON_PID")"

step "memory with a 1 TiB volume"
ctl volume create huge --size 1T >/dev/null
for off in 0 100 200 300 400 500 600 700 800 900 1000; do
  dd if=/dev/urandom of="$M/volumes/huge" bs=1M count=4 seek=$((off * 1024)) oflag=direct conv=notrunc status=none
done
dd if="$M/volumes/huge" of=/dev/null bs=1M count=2048 skip=$((512 * 1024)) iflag=direct status=none
rss_huge="$(rss_mib "$DAEMON_PID")"
huge_stored="$(volume_stored_bytes huge)"
unmount_store "$STORE" "$M"

out="$T/table.md"
{
  echo "### fio: volume file vs plain file"
  echo
  bench_measured
  echo "fio $(fio_version), direct=1, libaio, ${RUNTIME} s per run after 2 s ramp, $SIZE files written in full first; median of $REPS runs."
  echo
  echo "| job | plain file | volume | volume/plain | target | met |"
  echo "| --- | ---: | ---: | ---: | ---: | :---: |"
  for job in "${JOBS[@]}"; do
    pm="$(fio_median plain "$job")"
    vm="$(fio_median volume "$job")"
    r="$(ratio "$vm" "$pm")"
    unit="$(fio_unit "$job")"
    case $job in
      seq*) target=0.8 ;;
      *) target=0.5 ;;
    esac
    met="$(meets "$vm" "$pm" "$target")"
    echo "| $(fio_desc "$job") | $pm $unit | $vm $unit | $r | ≥ $target | $met |"
  done
  echo
  echo "Daemon memory (VmRSS / peak VmHWM, MiB; default cache budget 512 MiB):"
  echo
  echo "| when | VmRSS | VmHWM |"
  echo "| --- | ---: | ---: |"
  read -r a b <<<"$rss_idle"
  echo "| mounted, idle | $a | $b |"
  read -r a b <<<"$rss_after_jobs"
  echo "| after the fio jobs | $a | $b |"
  read -r a b <<<"$rss_huge"
  echo "| after creating a 1 TiB volume, writing 44 MiB across it and reading 2 GiB of holes | $a | $b |"
  echo
  echo "The 1 TiB volume stores $((huge_stored >> 20)) MiB."
} >"$out"
bench_publish fio_bench "$out"
