#!/usr/bin/env bash
# The ceiling that the kernel's FUSE path puts on sequential 1 MiB direct I/O on this machine,
# and how close a volume gets to it.
#
#   bench/fuse_ceiling.sh [--write] [--no-build] [--splice] [RUNTIME_S [REPS [SIZE]]]
#                                                                        (default 10 3 2G)
#
# Runs the sequential fio jobs of bench/fio_bench.sh (direct=1, libaio, 1 MiB blocks, iodepth 8)
# on three files of SIZE bytes, interleaved in every repetition: a plain file beside the store,
# /null of fuse_null (bench/fuse_null.cc: a FUSE filesystem mounted and tuned like the clonefs
# daemon that drops writes and reads zeros), and an uncompressed clonefs volume. The plain file
# and the volume are written in full first; the seqwrite job also runs on a new file each time
# (every block newly allocated, like the store's log). Prints a markdown table of the medians of REPS runs
# and their ratios; --write also puts it into docs/BENCHMARKS.md. --splice mounts fuse_null with
# libfuse's splice capabilities (fuse_null --splice) instead.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
NULL_OPTS=()
bench_option() {
  [[ $1 == --splice ]] || return 1
  NULL_OPTS=(--splice)
}
bench_parse_args "RUNTIME=10 REPS=3 SIZE=2G" "$@"
bench_setup
command -v fio >/dev/null || fail "fio not found"
FUSE_NULL="$BENCH_BUILD/bench/fuse_null"
[[ -x "$FUSE_NULL" ]] || fail "not executable: $FUSE_NULL (build the fuse_null target)"
SIZE_BYTES="$(numfmt --from=iec "$SIZE")" || fail "cannot read the size '$SIZE'"

M="$T/mnt"
NM="$T/null"
PLAIN="$T/plain.img"
VOL="$M/volumes/bench"
NULL_FILE="$NM/null"
RES="$T/results"
FRESH="$T/fresh.img"
# Large enough that a run never wraps around to overwrite (3 GB/s for RUNTIME plus the ramp).
FRESH_SIZE="$((3 * (RUNTIME + 2)))G"
mkdir -p "$RES" "$NM"

new_store "$T/store"
mount_store "$STORE" "$M" daemon
ctl volume create bench --size "$SIZE" --compression none >/dev/null
truncate -s "$SIZE" "$PLAIN"

# fuse_null in the foreground of its own session, like mount_store's fg mode; the cleanup
# unmounts it and waits for it.
setsid "$FUSE_NULL" "$NM" "$SIZE_BYTES" -f "${NULL_OPTS[@]+"${NULL_OPTS[@]}"}" \
  >"$T/fuse_null.log" 2>&1 &
NULL_PID=$!
T_DAEMONS+=("$NULL_PID")
deadline=$(($(date +%s) + 30))
until is_mounted "$NM" && [[ -f "$NULL_FILE" ]]; do
  pid_alive "$NULL_PID" || { cat "$T/fuse_null.log" >&2; fail "fuse_null died before mounting"; }
  (($(date +%s) < deadline)) || fail "fuse_null not mounted at $NM after 30 s"
  sleep 0.1
done
log "mounted fuse_null at $NM (pid $NULL_PID): $(tr "\n" " " <"$T/fuse_null.log")"

JOBS=(seqwrite seqread)
SIDES=(plain fuse_null volume)
declare -A FILE_OF=([plain]="$PLAIN" [fuse_null]="$NULL_FILE" [volume]="$VOL")

step "laying out the plain file and the volume ($SIZE each)"
for f in "$PLAIN" "$VOL"; do
  fio_layout "$f" "$SIZE" || fail "layout of $f failed"
done

for rep in $(seq "$REPS"); do
  for job in "${JOBS[@]}"; do
    for side in "${SIDES[@]}"; do
      fio_run "$side" "$job" "$rep" "${FILE_OF[$side]}"
      log "rep $rep $job $side: $(fio_value "$side" "$job" "$rep") MiB/s"
    done
    if [[ $job == seqwrite ]]; then
      # The same writes to a new file: every block newly allocated, as in the store's log.
      fio_job seqwrite "$FRESH" "$FRESH_SIZE" "$RUNTIME" "$RES/fresh.seqwrite.$rep.json" ||
        fail "fio seqwrite on a new file failed"
      rm -f "$FRESH"
      log "rep $rep seqwrite new file: $(fio_value fresh seqwrite "$rep") MiB/s"
    fi
  done
done

fusermount3 -u "$NM" || fail "fusermount3 -u $NM failed"
wait_gone "$NULL_PID" 30 || fail "fuse_null $NULL_PID did not exit after unmount"
unmount_store "$STORE" "$M"

out="$T/table.md"
{
  echo "### FUSE ceiling: no-op FUSE file vs plain file vs volume"
  echo
  bench_measured
  echo "fio $(fio_version), direct=1, libaio, 1 MiB blocks, iodepth 8, ${RUNTIME} s per run after 2 s ramp, $SIZE files (plain file and volume written in full first); median of $REPS runs, interleaved."
  echo
  transfer="requests read with read(2) into libfuse's buffer, replies written with writev(2)"
  ((${#NULL_OPTS[@]})) && transfer="but with --splice: write data spliced into a pipe and copied out by write_buf, read replies spliced from a memfd"
  echo "fuse_null (bench/fuse_null.cc) serves one file that drops what is written to it and reads as zeros, and does nothing else."
  echo "It is mounted and tuned like the clonefs daemon (default_permissions, max_write 1 MiB, max_background 64, no writeback cache, 16 worker threads; $transfer), so its file is the upper bound for any FUSE filesystem on this machine with these mount options: fuse_null/plain is what the kernel's FUSE path allows next to the plain file (above 1, FUSE itself is not what holds a volume back), volume/fuse_null how much of that a volume gets."
  echo
  echo "| job | plain | fuse_null | volume | fuse_null/plain | volume/plain | volume/fuse_null |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  for job in "${JOBS[@]}"; do
    declare -A med=()
    for side in "${SIDES[@]}"; do med[$side]="$(fio_median "$side" "$job")"; done
    [[ $job == seqwrite ]] && med_plain_seqwrite="${med[plain]}"
    echo "| $(fio_desc "$job") | ${med[plain]} MiB/s | ${med[fuse_null]} MiB/s | ${med[volume]} MiB/s" \
      "| $(ratio "${med[fuse_null]}" "${med[plain]}") | $(ratio "${med[volume]}" "${med[plain]}")" \
      "| $(ratio "${med[volume]}" "${med[fuse_null]}") |"
  done
  fm="$(fio_median fresh seqwrite)"
  echo
  echo "The same seqwrite job on a new file, so that every block is newly allocated as the store's log allocates it (the plain file above is overwritten in place): $fm MiB/s, $(ratio "$fm" "${med_plain_seqwrite}")× the plain file. That is what a log-structured store can write on this filesystem with no work of its own."
} >"$out"
bench_publish fuse_ceiling "$out" fio_bench
