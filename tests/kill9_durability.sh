#!/usr/bin/env bash
# kill -9 of the daemon in the middle of fsync'd writes: after a remount, every record whose
# fsync returned is there byte for byte. Three rounds in the same store (fsync, fdatasync,
# O_DIRECT + fsync); each round checks the records of all earlier rounds too.
source "$(dirname "$0")/lib.sh"
t_init "$@"

M="$T/mnt"
VOL="$M/volumes/crash"
PAGES=$(((2 << 30) / 4096))  # 2 GiB volume
PER_ROUND=150000             # record indexes reserved for each round
ACKS="$T/acked.log"          # outside the store: survives the daemon

new_store "$T/store"
mount_store "$STORE" "$M"
ctl volume create crash --size 2G >/dev/null
: >"$ACKS"

round=0
for mode in fsync fdatasync direct; do
  round=$((round + 1))
  step "round $round: $mode writer, then kill -9"
  before=$(wc -l <"$ACKS")
  python3 "$IOTOOL" records-write --file "$VOL" --log "$ACKS" --pages $PAGES --run $round \
    --start $((round * PER_ROUND)) --count $PER_ROUND --batch 16 --mode "$mode" \
    >"$T/writer.$round.out" 2>&1 &
  writer=$!
  # Let it run for a few seconds and make sure it is really acknowledging writes.
  deadline=$(($(date +%s) + 60))
  sleep 4
  until (($(wc -l <"$ACKS") - before >= 2000)); do
    pid_alive $writer || { cat "$T/writer.$round.out"; fail "writer stopped before the kill"; }
    (($(date +%s) < deadline)) || fail "writer acknowledged only $(($(wc -l <"$ACKS") - before)) records in 60 s"
    sleep 0.5
  done
  pid_alive $writer || { cat "$T/writer.$round.out"; fail "writer finished before the kill: make PER_ROUND bigger"; }
  kill9_store "$STORE" "$M"
  # The writer now fails (the connection is gone); it must not hang.
  if ! wait_gone $writer 30; then
    kill -9 $writer
    fail "writer hung after the daemon was killed"
  fi
  wait $writer 2>/dev/null || true
  log "writer: $(tail -n 1 "$T/writer.$round.out")"
  log "acknowledged this round: $(($(wc -l <"$ACKS") - before)), in total: $(wc -l <"$ACKS")"

  step "round $round: remount and verify every acknowledged record"
  mount_store "$STORE" "$M"
  iotool records-verify --file "$VOL" --log "$ACKS" --pages $PAGES --min $((round * 2000)) ||
    fail "round $round: acknowledged records lost after kill -9"
done

step "clean unmount and a last check"
unmount_store "$STORE" "$M"
mount_store "$STORE" "$M"
iotool records-verify --file "$VOL" --log "$ACKS" --pages $PAGES --min 6000 ||
  fail "records lost after a clean remount"
unmount_store "$STORE" "$M"
assert_no_corruption
