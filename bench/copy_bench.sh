#!/usr/bin/env bash
# Snapshot copies and export streams, in one run:
#
#   bench/copy_bench.sh [--write] [--no-build] [REPS [SIZE_MIB]]   (default 3 2048)
#
# 1. Cross-region copy: an encrypted volume in region us-east-1 written in full with SIZE_MIB of
#    random data is snapshotted and copied into region eu-west-1 under that region's key
#    (`clonectl snapshot copy ARN T --kms-key K --wait`: every page decrypted, streamed through
#    a pipe between the two daemons, re-encrypted under fresh data keys). The baseline is `cp`
#    of a plain file with the same data on the same filesystem, followed by `sync`, with the
#    page cache dropped before each run. Throughput ratio = cp time / copy time.
# 2. Incremental export: a volume of SIZE_MIB written in full, snapshot s0; then 1% of its 4 KiB
#    pages rewritten at random offsets, snapshot s1. `clonefs-export export s1 --since s0` vs
#    the full `clonefs-export export s1`, both to /dev/null through the daemon (three
#    incrementals per full export; medians of each).
# 3. Sparse export: a 1 TiB volume holding 1 GiB (256 extents of 4 MiB spread over the whole
#    volume) vs a dense 1 GiB volume: `clonefs-export export` of each to /dev/null.
#
# Runs alternate (baseline, measured, ...) REPS times; the table shows medians. Prints a
# markdown table; --write also puts it into docs/BENCHMARKS.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_parse_args "REPS=3 SIZE_MIB=2048" "$@"
bench_setup
EXPORT="$BENCH_BUILD/tools/clonefs-export"
[[ -x $EXPORT ]] || fail "not built: $EXPORT"

A="$T/us-east-1" B="$T/eu-west-1" MA="$T/ma" MB="$T/mb" RES="$T/results"
mkdir -p "$RES"
export CLONEFS_REGIONS="us-east-1=$A,eu-west-1=$B"
new_store "$A" us-east-1
new_store "$B" eu-west-1
mount_store "$A" "$MA"
mount_store "$B" "$MB"
ca() { "$CLONECTL" --store "$A" "$@"; }
cb() { "$CLONECTL" --store "$B" "$@"; }
ca key create --alias ka >/dev/null
cb key create --alias kb >/dev/null
ACCOUNT="$(ca store info --json | iotool json-get AccountId)"

# secs COMMAND...: wall seconds of COMMAND.
secs() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>>"$RES/commands.log" || fail "$* failed (see $RES/commands.log)"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}'
}
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

step "1. cross-region copy of $SIZE_MIB MiB vs cp"
PLAIN="$T/plain.img"
dd if=/dev/urandom of="$PLAIN" bs=1M count="$SIZE_MIB" status=none
ca volume create big --size "${SIZE_MIB}M" --encrypted --kms-key ka >/dev/null
dd if="$PLAIN" of="$MA/volumes/big" bs=1M conv=notrunc,fsync status=none
ca snapshot create big big-snap >/dev/null
ARN="arn:clonefs:us-east-1:$ACCOUNT:snapshot:big-snap"
cp_runs=() copy_runs=()
for i in $(seq "$REPS"); do
  drop_caches
  cp_runs+=("$(secs bash -c "cp '$PLAIN' '$T/plain.copy' && sync")")
  rm -f "$T/plain.copy"
  drop_caches
  copy_runs+=("$(secs cb snapshot copy "$ARN" "copy-$i" --kms-key kb --wait)")
  log "run $i: cp ${cp_runs[-1]} s, copy ${copy_runs[-1]} s"
done
cmp "$MA/snapshots/big-snap" "$MB/snapshots/copy-1" || fail "the copy differs from its source"
for i in $(seq "$REPS"); do cb snapshot delete "copy-$i" >/dev/null; done
cp_med="$(median "${cp_runs[@]}")" copy_med="$(median "${copy_runs[@]}")"

step "2. incremental export of 1% changed pages vs full export"
ca volume create inc --size "${SIZE_MIB}M" >/dev/null
dd if="$PLAIN" of="$MA/volumes/inc" bs=1M conv=notrunc,fsync status=none
ca snapshot create inc s0 >/dev/null
PAGES=$((SIZE_MIB * 256))
python3 - "$MA/volumes/inc" "$PAGES" <<'PY'
import os, random, sys
path, pages = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_WRONLY)
for page in random.Random(12).sample(range(pages), pages // 100):
    os.pwrite(fd, os.urandom(4096), page * 4096)
os.fsync(fd)
os.close(fd)
PY
ca snapshot create inc s1 >/dev/null
full_runs=() inc_runs=()
for i in $(seq "$REPS"); do
  full_runs+=("$(secs "$EXPORT" --store "$A" export s1 --to /dev/null)")
  # An incremental takes a tenth of a second: three of them per full export, so that one
  # disturbed run on a shared machine does not decide the median.
  for j in 1 2 3; do inc_runs+=("$(secs "$EXPORT" --store "$A" export s1 --since s0 --to /dev/null)"); done
  log "run $i: full ${full_runs[-1]} s, incremental ${inc_runs[*]: -3} s"
done
full_med="$(median "${full_runs[@]}")" inc_med="$(median "${inc_runs[@]}")"

step "3. export of a 1 TiB volume holding 1 GiB vs a dense 1 GiB volume"
ca volume create dense --size 1G >/dev/null
ca volume create sparse --size 1T >/dev/null
dd if="$PLAIN" of="$MA/volumes/dense" bs=1M count=1024 conv=notrunc,fsync status=none
for i in $(seq 0 255); do
  dd if="$PLAIN" of="$MA/volumes/sparse" bs=4M count=1 skip="$((i % (SIZE_MIB / 4)))" \
    seek="$((i * 1024))" conv=notrunc status=none
done
sync "$MA/volumes/sparse"
ca snapshot create dense dense-snap >/dev/null
ca snapshot create sparse sparse-snap >/dev/null
dense_runs=() sparse_runs=()
for i in $(seq "$REPS"); do
  dense_runs+=("$(secs "$EXPORT" --store "$A" export dense-snap --to /dev/null)")
  sparse_runs+=("$(secs "$EXPORT" --store "$A" export sparse-snap --to /dev/null)")
  log "run $i: dense ${dense_runs[-1]} s, sparse ${sparse_runs[-1]} s"
done
dense_med="$(median "${dense_runs[@]}")" sparse_med="$(median "${sparse_runs[@]}")"

mib_s() { awk -v m="$SIZE_MIB" -v s="$1" 'BEGIN {printf "%.0f", m / s}'; }
below() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN {print (b > 0 && a / b <= t) ? "yes" : "no"}'; }
OUT="$RES/table.md"
{
  echo "### Snapshot copies and export streams"
  echo
  bench_measured
  echo "\`bench/copy_bench.sh $REPS $SIZE_MIB\`; medians of $REPS runs."
  echo
  echo "| measure | baseline | clonefs | ratio | target | met |"
  echo "|---|---|---|---|---|---|"
  echo "| cross-region re-encrypting copy of $SIZE_MIB MiB (throughput vs cp + sync) | cp $cp_med s ($(mib_s "$cp_med") MiB/s) | copy $copy_med s ($(mib_s "$copy_med") MiB/s) | $(ratio "$cp_med" "$copy_med") | ≥ 0.6 | $(meets "$cp_med" "$copy_med" 0.6) |"
  echo "| incremental export of 1% changed pages (time vs full export) | full $full_med s | incremental $inc_med s | $(ratio "$inc_med" "$full_med") | ≤ 0.05 | $(below "$inc_med" "$full_med" 0.05) |"
  echo "| export of a 1 TiB volume holding 1 GiB (time vs dense 1 GiB) | dense $dense_med s | sparse $sparse_med s | $(ratio "$sparse_med" "$dense_med") | ≤ 2 | $(below "$sparse_med" "$dense_med" 2) |"
} >"$OUT"
bench_publish "copy_bench" "$OUT" "clone_bench"
