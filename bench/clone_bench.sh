#!/usr/bin/env bash
# Snapshots and clones: creation time, read speed 15 clones deep, space of a clone's writes,
# and the same read test on a qcow2 backing chain served by qemu-storage-daemon, in one run.
#
#   bench/clone_bench.sh [--write] [--no-build] [RUNTIME_S [REPS [CREATE_REPS]]]   (default 20 3 7)
#
# 1. Creation time: wall time of `clonectl snapshot create` and `clonectl volume clone` against
#    the running daemon, for a volume with 64 MiB written and one with 4 GiB written (random
#    data, then sync), CREATE_REPS times each, interleaved. Each command is paired with a no-op
#    `clonectl store info` run just before it; "minus baseline" is the median of the pairwise
#    differences, i.e. the time the command costs beyond starting clonectl and connecting.
#    Then the same on an open control-socket connection (bench/clone_bench_rtt.py): the
#    request's round trip, with a store.info round trip as its baseline. CREATE_REPS ≤ 7 (two
#    clones per repetition, at most 15 per lineage).
# 2. Depth: fio 4 KiB random read (direct=1, libaio, iodepth 32, RUNTIME_S per run after 2 s
#    ramp) on a 1 GiB root volume written in full vs on a clone 15 levels deep of it (each level
#    is a clone of the previous one that then overwrites 8 pages of its own).
# 3. Space: clone a 1 GiB volume written in full, write N MiB (N = 64, 256) of unique 4 KiB
#    pages at random offsets to the clone (fio randwrite with a random map), sync; the store's
#    LiveBytes delta divided by N MiB. REPS + 2 clones per N.
# 4. qcow2: the base image holds the same 1 GiB as the root volume (qemu-img convert from it);
#    15 overlays (qemu-img create -b) each overwrite the same 8 pages with the same data as the
#    clones. The base and the top overlay are each served by qemu-storage-daemon
#    (--export type=fuse) and read with the same fio job. The base is exported from a byte copy
#    of it (base0.qcow2), since an image opened as a backing file cannot also be opened writable.
#    Skipped (saying why) when qemu-storage-daemon is missing or cannot export here.
#
# The fio runs of 2 and 4 alternate: root, depth 15, qcow2 base, qcow2 depth 15, repeated REPS
# times; the table shows medians. Everything lives in one scratch directory under
# $CLONEFS_BENCH_DIR (default /var/tmp). Prints a markdown table; --write also puts it into
# docs/BENCHMARKS.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_parse_args "RUNTIME=20 REPS=3 CREATE_REPS=7" "$@"
DEPTH=15
CHAIN_SIZE=1G
SPACE_SIZES=(64 256)
SPACE_REPS=$((REPS + 2))
bench_setup
command -v fio >/dev/null || fail "fio not found"
command -v qemu-img >/dev/null || fail "qemu-img not found (apt-get install qemu-utils)"
command -v qemu-io >/dev/null || fail "qemu-io not found (apt-get install qemu-utils)"
((SPACE_REPS * ${#SPACE_SIZES[@]} <= 15 && 2 * CREATE_REPS <= 15)) || fail "too many clones for one lineage (at most 15)"

M="$T/mnt"
RES="$T/results"
Q="$T/qcow2"
mkdir -p "$RES" "$Q"

# qemu-storage-daemon processes this script started; stopped before the common cleanup.
declare -a QSD_PIDS=()
clone_bench_cleanup() {
  local rc=$? pid
  set +e
  for pid in "${QSD_PIDS[@]}"; do
    pid_alive "$pid" || continue
    kill -TERM "$pid" 2>/dev/null
    wait_gone "$pid" 20 || kill -9 "$pid" 2>/dev/null
  done
  (exit "$rc")
  t_cleanup
}
trap clone_bench_cleanup EXIT

now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }

# timed_ms CMD...: runs CMD (output discarded) and prints its wall time in ms.
timed_ms() {
  local t0 t1
  t0="$(now_us)"
  "$@" >/dev/null || fail "$* failed"
  t1="$(now_us)"
  awk -v d=$((t1 - t0)) 'BEGIN {printf "%.2f", d / 1000}'
}

store_live_bytes() { ctl --json store usage | iotool json-get LiveBytes; }

fio_iops() {
  python3 -c 'import json, sys; print("%.0f" % json.load(open(sys.argv[1]))["jobs"][0]["read"]["iops"])' "$1"
}

# randread NAME FILE REP: one fio random-read run; prints its IOPS.
randread() {
  fio --name="$1" --filename="$2" --direct=1 --ioengine=libaio --rw=randread --bs=4k \
    --iodepth=32 --size="$CHAIN_SIZE" --time_based --runtime="$RUNTIME" --ramp_time=2 \
    --randrepeat=0 --norandommap --output-format=json --output="$RES/read.$1.$3.json" \
    >/dev/null || fail "fio randread on $1 ($2) failed"
  fio_iops "$RES/read.$1.$3.json"
}

# fill FILE SIZE: writes FILE in full with non-zero data, 1 MiB blocks.
fill() {
  fio --name=fill --filename="$1" --direct=1 --ioengine=libaio --rw=write --bs=1m --iodepth=8 \
    --size="$2" --refill_buffers --output=/dev/null || fail "writing $2 to $1 failed"
}

# Pages each level of a chain overwrites (page indexes; distinct across levels).
level_pages() { local i; for i in 0 1 2 3 4 5 6 7; do echo $(($1 * 1543 + i * 31321 + 7)); done; }

new_store "$T/store"
mount_store "$STORE" "$M" daemon

# --- 1. creation time -------------------------------------------------------------------
step "creation time: volumes with 64 MiB and 4 GiB written"
ctl volume create small --size 8G >/dev/null
ctl volume create big --size 8G >/dev/null
fill "$M/volumes/small" 64M
fill "$M/volumes/big" 4G
sync
ctl store sync >/dev/null
declare -A CT=()  # CT[op.vol] = "ms ms ..." (wall time), CT[op.vol.net] = minus baseline
for rep in $(seq "$CREATE_REPS"); do
  for op in snapshot clone; do
    for vol in small big; do
      base="$(timed_ms ctl store info)"
      if [[ $op == snapshot ]]; then
        t="$(timed_ms ctl snapshot create "$vol" "$vol-snap-$rep")"
      else
        t="$(timed_ms ctl volume clone "$vol" "$vol-clone-$rep")"
      fi
      CT[$op.$vol]+="$t "
      CT[$op.$vol.net]+="$(awk -v a="$t" -v b="$base" 'BEGIN {printf "%.2f", a - b}') "
      CT[base]+="$base "
      log "rep $rep: $op of $vol $t ms (store info $base ms)"
    done
  done
  rtt="$(python3 "$BENCH_ROOT/bench/clone_bench_rtt.py" "$STORE/control.sock" "r$rep" small big)" ||
    fail "bench/clone_bench_rtt.py failed"
  while read -r op vol t base; do
    CT[$op.$vol.rtt]+="$t "
    CT[base.rtt]+="$base "
    log "rep $rep: $op of $vol on the socket $t ms (store info $base ms)"
  done <<<"$rtt"
done
for rep in $(seq "$CREATE_REPS"); do
  for vol in small big; do
    for v in "$vol-clone-$rep" "$vol-r$rep-clone"; do ctl volume delete "$v" >/dev/null; done
    for s in "$vol-snap-$rep" "$vol-r$rep-snap"; do ctl snapshot delete "$s" >/dev/null; done
  done
done
ctl volume delete small >/dev/null
ctl volume delete big >/dev/null
ctl gc >/dev/null
log "creation-time volumes deleted; store: $(store_live_bytes) live bytes"

# --- 2. clonefs chain -------------------------------------------------------------------
step "clonefs: root volume ($CHAIN_SIZE written) and a chain of $DEPTH clones"
ctl volume create root --size "$CHAIN_SIZE" >/dev/null
fill "$M/volumes/root" "$CHAIN_SIZE"
prev=root
for lvl in $(seq "$DEPTH"); do
  head -c 4096 /dev/urandom >"$T/page.$lvl"
  ctl volume clone "$prev" "depth-$lvl" >/dev/null
  for p in $(level_pages "$lvl"); do
    dd if="$T/page.$lvl" of="$M/volumes/depth-$lvl" bs=4096 seek="$p" count=1 oflag=direct \
      conv=notrunc status=none || fail "write to depth-$lvl failed"
  done
  prev="depth-$lvl"
done
sync
ctl store sync >/dev/null
TOP="$M/volumes/depth-$DEPTH"

# --- 4. qcow2 chain (set up here; read beside the clonefs chain below) ------------------
QCOW=0
QCOW_WHY=""
QSD_VERSION=""
# qsd_start NAME IMAGE: exports IMAGE as the file $Q/NAME.export; false (with QCOW_WHY) on failure.
qsd_start() {
  local name=$1 image=$2 exp="$Q/$1.export" pidf="$Q/$1.pid" errf="$Q/$1.err"
  touch "$exp"
  if ! qemu-storage-daemon \
    --blockdev "driver=file,node-name=${name}-file,filename=$image" \
    --blockdev "driver=qcow2,node-name=$name,file=${name}-file" \
    --export "type=fuse,id=e-$name,node-name=$name,mountpoint=$exp,writable=on" \
    --daemonize --pidfile "$pidf" >"$errf" 2>&1; then
    QCOW_WHY="qemu-storage-daemon failed to export $name: $(tr '\n' ' ' <"$errf")"
    [[ -s "$pidf" ]] && QSD_PIDS+=("$(cat "$pidf")")
    return 1
  fi
  QSD_PIDS+=("$(cat "$pidf")")
  is_mounted "$exp" || { QCOW_WHY="qemu-storage-daemon started but $exp is not a FUSE mount"; return 1; }
  log "qemu-storage-daemon pid $(cat "$pidf") exports $image at $exp"
}
if ! command -v qemu-storage-daemon >/dev/null; then
  QCOW_WHY="qemu-storage-daemon not found (Debian package qemu-system-common)"
else
  QSD_VERSION="$(qemu-storage-daemon --version | head -n 1 | awk '{print $3}')"
  step "qcow2: base with the root's data and $DEPTH overlays"
  qemu-img convert -f raw -O qcow2 "$M/volumes/root" "$Q/base.qcow2" || fail "qemu-img convert failed"
  cp "$Q/base.qcow2" "$Q/base0.qcow2"
  prev="$Q/base.qcow2"
  for lvl in $(seq "$DEPTH"); do
    img="$Q/l$lvl.qcow2"
    qemu-img create -q -f qcow2 -b "$prev" -F qcow2 "$img" || fail "qemu-img create $img failed"
    cmds=()
    for p in $(level_pages "$lvl"); do cmds+=(-c "write -q -s $T/page.$lvl $((p * 4096)) 4k"); done
    qemu-io -f qcow2 "${cmds[@]}" "$img" >/dev/null || fail "qemu-io write to $img failed"
    prev="$img"
  done
  chain_len="$(qemu-img info --backing-chain "$prev" | grep -c '^image:')"
  ((chain_len == DEPTH + 1)) || fail "qcow2 chain has $chain_len images, expected $((DEPTH + 1))"
  sync
  if qsd_start q0 "$Q/base0.qcow2" && qsd_start q15 "$Q/l$DEPTH.qcow2"; then
    # Same content as the clonefs side: compare a few pages of every level with the clone.
    for p in 0 $(level_pages 1) $(level_pages "$DEPTH") 262143; do
      cmp <(dd if="$TOP" bs=4096 skip="$p" count=1 status=none) \
        <(dd if="$Q/q15.export" bs=4096 skip="$p" count=1 status=none) >/dev/null ||
        fail "qcow2 overlay and clone differ at page $p"
    done
    QCOW=1
  fi
  ((QCOW)) || log "qcow2 comparison skipped: $QCOW_WHY"
fi
# The clone reads its own pages and every level's pages; spot-check against the pattern.
for lvl in 1 "$DEPTH"; do
  # Not `| head -n 1`: head exiting first makes level_pages die of SIGPIPE under pipefail.
  pages=($(level_pages "$lvl"))
  p=${pages[0]}
  cmp <(dd if="$TOP" bs=4096 skip="$p" count=1 status=none) "$T/page.$lvl" >/dev/null ||
    fail "depth-$DEPTH does not read level $lvl's page $p"
done

step "random reads: clonefs root and depth $DEPTH$( ((QCOW)) && echo ', qcow2 base and depth '"$DEPTH")"
declare -A IOPS=()
for rep in $(seq "$REPS"); do
  sides=(root top)
  ((QCOW)) && sides+=(q0 q15)
  for side in "${sides[@]}"; do
    case $side in
      root) file="$M/volumes/root" ;;
      top) file="$TOP" ;;
      *) file="$Q/$side.export" ;;
    esac
    v="$(randread "$side" "$file" "$rep")"
    IOPS[$side]+="$v "
    log "rep $rep: $side $v IOPS"
  done
done
# Stop qemu and drop the qcow2 files before the space test.
for pid in "${QSD_PIDS[@]}"; do
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$pid" 20 || fail "qemu-storage-daemon $pid did not exit"
done
QSD_PIDS=()
rm -rf "$Q"

# --- 3. space of a clone's writes -------------------------------------------------------
step "space: writes of unique pages to clones of a full $CHAIN_SIZE volume"
ctl volume create space --size "$CHAIN_SIZE" >/dev/null
fill "$M/volumes/space" "$CHAIN_SIZE"
sync
ctl store sync >/dev/null
declare -A SPACE=()
clone_delta=()
for rep in $(seq "$SPACE_REPS"); do
  for n in "${SPACE_SIZES[@]}"; do
    before_clone="$(store_live_bytes)"
    ctl volume clone space "space-$n-$rep" >/dev/null
    before="$(store_live_bytes)"
    clone_delta+=($((before - before_clone)))
    fio --name=space --filename="$M/volumes/space-$n-$rep" --direct=1 --ioengine=libaio \
      --rw=randwrite --bs=4k --iodepth=32 --size="$CHAIN_SIZE" --io_size="${n}M" \
      --randrepeat=0 --refill_buffers --output=/dev/null || fail "fio randwrite to space-$n-$rep failed"
    sync
    after="$(store_live_bytes)"
    SPACE[$n]+="$((after - before)) "
    log "rep $rep: $n MiB written to a clone -> LiveBytes +$((after - before))"
  done
done
unmount_store "$STORE" "$M"

# --- table ------------------------------------------------------------------------------
met() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {if (v == "n/a") print "n/a"; else print ((op == "le" ? v + 0 <= t : v + 0 >= t) ? "yes" : "no")}'; }
# med "a b c": median of a space-separated list.
# shellcheck disable=SC2086
med() { median $1; }

out="$T/table.md"
{
  echo "### Snapshots and clones"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(bench_machine)."
  echo "fio $(fio_version); volumes uncompressed, 4 KiB pages, default cache."
  echo
  echo "Creation time, median of $CREATE_REPS: wall time of the clonectl command against the running"
  echo "daemon; \"minus baseline\" subtracts a no-op \`clonectl store info\` run just before each command;"
  echo "\"socket round trip\" is the request's time on an open control-socket connection"
  echo "(bench/clone_bench_rtt.py), without starting clonectl."
  echo
  echo "| command | 64 MiB written | 4 GiB written | 4 GiB / 64 MiB | target | met |"
  echo "| --- | ---: | ---: | ---: | --- | :---: |"
  for op in snapshot clone; do
    label="\`snapshot create\`"
    [[ $op == clone ]] && label="\`volume clone\`"
    s="$(med "${CT[$op.small]}")" b="$(med "${CT[$op.big]}")" r="$(ratio "$(med "${CT[$op.big]}")" "$(med "${CT[$op.small]}")")"
    echo "| $label | $s ms | $b ms | $r | ratio ≤ 1.5 | $(met "$r" le 1.5) |"
    s="$(med "${CT[$op.small.net]}")" b="$(med "${CT[$op.big.net]}")"
    worst="$(printf '%s\n' "$s" "$b" | sort -g | tail -n 1)"
    echo "| $label minus baseline | $s ms | $b ms | | median ≤ 10 ms | $(met "$worst" le 10) |"
    s="$(med "${CT[$op.small.rtt]}")" b="$(med "${CT[$op.big.rtt]}")" r="$(ratio "$b" "$s")"
    worst="$(printf '%s\n' "$s" "$b" | sort -g | tail -n 1)"
    echo "| $label, socket round trip | $s ms | $b ms | $r | ratio ≤ 1.5, median ≤ 10 ms | $(met "$r" le 1.5)/$(met "$worst" le 10) |"
  done
  echo "| \`store info\`: CLI wall time / socket round trip (baselines) | $(med "${CT[base]}") ms | $(med "${CT[base.rtt]}") ms | | | |"
  echo
  echo "Random read, 4 KiB, direct=1, libaio, iodepth 32, ${RUNTIME} s per run after 2 s ramp, over"
  echo "1 GiB written in full; median of $REPS runs. Each of the $DEPTH levels overwrites 8 pages."
  if ((QCOW)); then
    echo "qcow2: qemu-storage-daemon $QSD_VERSION, FUSE export, default options; base filled with the"
    echo "same data, overlays made with \`qemu-img create -f qcow2 -b\` writing the same pages."
  fi
  echo
  if ((QCOW)); then
    echo "| image | clonefs | qcow2 backing chain | target (clonefs) | met |"
    echo "| --- | ---: | ---: | --- | :---: |"
  else
    echo "| image | clonefs | target | met |"
    echo "| --- | ---: | --- | :---: |"
  fi
  r0="$(med "${IOPS[root]}")" r15="$(med "${IOPS[top]}")" rr="$(ratio "$r15" "$r0")"
  if ((QCOW)); then
    q0="$(med "${IOPS[q0]}")" q15="$(med "${IOPS[q15]}")" qr="$(ratio "$q15" "$q0")"
    echo "| depth 0 (root volume / base image) | $r0 IOPS | $q0 IOPS | | |"
    echo "| depth $DEPTH (clone / overlay) | $r15 IOPS | $q15 IOPS | | |"
    echo "| depth $DEPTH / depth 0 | $rr | $qr | ≥ 0.9 | $(met "$rr" ge 0.9) |"
  else
    echo "| depth 0 (root volume) | $r0 IOPS | | |"
    echo "| depth $DEPTH (clone) | $r15 IOPS | | |"
    echo "| depth $DEPTH / depth 0 | $rr | ≥ 0.9 | $(met "$rr" ge 0.9) |"
    echo
    echo "qcow2 comparison not run: $QCOW_WHY."
  fi
  echo
  echo "Space: N MiB of unique 4 KiB pages written at random offsets to a fresh clone of a 1 GiB"
  echo "volume written in full; growth of the store's LiveBytes, median of $SPACE_REPS clones. Creating the"
  echo "clone itself added $(median "${clone_delta[@]}") bytes (median)."
  echo
  echo "| N | LiveBytes growth | growth / N MiB | target | met |"
  echo "| ---: | ---: | ---: | --- | :---: |"
  for n in "${SPACE_SIZES[@]}"; do
    d="$(med "${SPACE[$n]}")"
    r="$(awk -v d="$d" -v n="$n" 'BEGIN {printf "%.3f", d / (n * 1048576)}')"
    echo "| $n MiB | $(awk -v d="$d" 'BEGIN {printf "%.1f MiB", d / 1048576}') | $r | ≤ 1.05 | $(met "$r" le 1.05) |"
  done
} >"$out"
bench_publish clone_bench "$out"
