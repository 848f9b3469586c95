#!/usr/bin/env bash
# fio on an encrypted volume vs an unencrypted one, in one run, beside OpenSSL's AES-256-GCM
# single-core throughput on this machine.
#
#   bench/crypto_bench.sh [--write] [--no-build] [RUNTIME_S [REPS [SIZE]]]   (default 20 3 2G)
#
# The same jobs as bench/fio_bench.sh (direct=1, libaio: sequential write and read with 1 MiB
# blocks at iodepth 8, random read and write with 4 KiB blocks at iodepth 32) on two volumes of
# one store and one daemon, uncompressed, 4 KiB pages: one created with --encrypted, one not.
# Both are written in full first. Each job runs REPS times per volume, interleaved; the table
# shows medians and the ratio encrypted/unencrypted (target >= 0.7). `openssl speed -evp
# aes-256-gcm` (one core) at 4 KiB and 16 KiB gives the cipher's own ceiling. Prints a markdown
# table; --write also puts it into docs/BENCHMARKS.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_parse_args "RUNTIME=20 REPS=3 SIZE=2G" "$@"
bench_setup
command -v fio >/dev/null || fail "fio not found"
command -v openssl >/dev/null || fail "openssl not found"

M="$T/mnt"
RES="$T/results"
mkdir -p "$RES"

new_store "$T/store"
mount_store "$STORE" "$M" daemon
ctl volume create plain --size "$SIZE" >/dev/null
ctl volume create encrypted --size "$SIZE" --encrypted >/dev/null
[[ "$(ctl --json volume show encrypted | iotool json-get StorageEncrypted)" == True ]] ||
  fail "volume 'encrypted' is not encrypted"

JOBS=(seqwrite seqread randread randwrite)
SIDES=(plain encrypted)

# OpenSSL's single-core AES-256-GCM throughput for BYTES-byte messages, in MB/s (10^6).
openssl_mbps() {
  openssl speed -evp aes-256-gcm -bytes "$1" -seconds 3 2>/dev/null |
    awk 'toupper($1) == "AES-256-GCM" {v = $2; sub(/k$/, "", v); printf "%.0f", v / 1000}'
}

step "laying out both volumes ($SIZE each)"
for side in "${SIDES[@]}"; do
  fio_layout "$M/volumes/$side" "$SIZE" || fail "layout of $side failed"
done

for rep in $(seq "$REPS"); do
  for job in "${JOBS[@]}"; do
    for side in "${SIDES[@]}"; do
      fio_run "$side" "$job" "$rep" "$M/volumes/$side"
      log "rep $rep $job $side: $(fio_value "$side" "$job" "$rep")"
    done
  done
done
unmount_store "$STORE" "$M"

step "openssl speed -evp aes-256-gcm (one core)"
ossl_4k="$(openssl_mbps 4096)"
ossl_16k="$(openssl_mbps 16384)"
log "AES-256-GCM: $ossl_4k MB/s at 4 KiB, $ossl_16k MB/s at 16 KiB"

out="$T/table.md"
{
  echo "### Encryption: encrypted volume vs unencrypted volume"
  echo
  bench_measured
  echo "fio $(fio_version), direct=1, libaio, ${RUNTIME} s per run after 2 s ramp, two $SIZE volumes of one store (4 KiB pages, no compression), written in full first; median of $REPS runs, interleaved."
  echo
  echo "| job | unencrypted | encrypted | encrypted/unencrypted | target | met |"
  echo "| --- | ---: | ---: | ---: | ---: | :---: |"
  cpu_notes=()
  for job in "${JOBS[@]}"; do
    pm="$(fio_median plain "$job")"
    em="$(fio_median encrypted "$job")"
    r="$(ratio "$em" "$pm")"
    unit="$(fio_unit "$job")"
    met="$(meets "$em" "$pm" 0.7)"
    echo "| $(fio_desc "$job") | $pm $unit | $em $unit | $r | ≥ 0.7 | $met |"
    # How much of one core AES-GCM alone needs at the encrypted side's rate.
    bytes_per_s="$(awk -v v="$em" -v u="$unit" 'BEGIN {print (u == "IOPS") ? v * 4096 : v * 1048576}')"
    cpu_notes+=("$job $(awk -v b="$bytes_per_s" -v o="$ossl_4k" 'BEGIN {printf "%.2f", b / (o * 1e6)}')")
  done
  echo
  echo "\`openssl speed -evp aes-256-gcm\` on one core of the same machine ($(openssl version | awk '{print $1, $2}')): $ossl_4k MB/s with 4 KiB messages, $ossl_16k MB/s with 16 KiB messages. A sealed 4 KiB page costs one such message plus a fresh nonce and the record's associated data."
  echo "At the encrypted volume's rates above, AES-GCM alone keeps this share of one core busy: $(IFS=,; echo "${cpu_notes[*]}" | sed 's/,/, /g') ($(nproc) cores in all, shared with fio and the kernel's FUSE path)."
} >"$out"
bench_publish crypto_bench "$out"
