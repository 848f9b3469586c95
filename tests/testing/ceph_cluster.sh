#!/usr/bin/env bash
# A throwaway single-node Ceph cluster for the RADOS store's tests: one monitor and one OSD,
# everything (config, keyrings, data, logs, sockets, pid files) under one directory.
#
#   tests/testing/ceph_cluster.sh start DIR [POOL...]   creates and starts a cluster in DIR (which
#                                                       must be empty or absent), creates each
#                                                       POOL (default: clonefs), waits until every
#                                                       pool takes writes, prints DIR/ceph.conf
#   tests/testing/ceph_cluster.sh stop DIR              stops the daemons and waits until they
#                                                       are gone (DIR itself stays)
#   tests/testing/ceph_cluster.sh restart-osd DIR [SIG] kills the OSD (SIGKILL unless SIG says
#                                                       otherwise), starts it again on the same
#                                                       store and waits until it serves I/O
#   tests/testing/ceph_cluster.sh restart DIR           stops both daemons (SIGTERM) and starts
#                                                       them again on the same data
#   tests/testing/ceph_cluster.sh status DIR            `ceph -s`
#
# Clients connect with `-c DIR/ceph.conf` (or librados' conf_read_file): the conf names the
# client.admin keyring in DIR, so no other flag is needed.
#
# Choices, for tests rather than for production:
#   - cephx stays on: the store must be tested with the same connect path (keyring, user id) as
#     a real cluster; it costs a few ms of key generation.
#   - the monitor listens on 127.0.0.1 on a free port, msgr2 only; the OSD on 127.0.0.1.
#   - the OSD is BlueStore on a sparse file (DIR/osd/block, CEPH_CLUSTER_BLOCK_SIZE, 4 GiB by
#     default): unlike memstore it keeps its objects across an OSD restart, which the
#     durability tests need. Its caches are small and fixed.
#   - no mgr: pools, I/O, locks, watches and blocklists need only the monitor and the OSD
#     (`ceph -s` then shows HEALTH_WARN "no active mgr" and unknown PG states; ignore them).
#   - pools are size 1 and have 8 PGs.
#   - the daemons run as the calling user (no setuser ceph), so DIR needs no ceph ownership and
#     nothing is written under /etc/ceph, /var/lib/ceph, /var/log/ceph or /run/ceph.
#
# Needs the packages of `tools/deps.sh ceph`.
set -euo pipefail

usage() {
  sed -n '4,16p' "$0" >&2
  exit 2
}

die() {
  echo "ceph_cluster: $*" >&2
  exit 1
}

# abs DIR: DIR made absolute, without needing it to exist.
abs() { realpath -m "$1"; }

now() { date +%s.%N; }

# mark WHAT: notes in DIR/log/start.timing how long the start has taken so far.
mark() {
  awk -v t0="$T0" -v t1="$(now)" -v what="$1" 'BEGIN { printf "%6.2fs %s\n", t1 - t0, what }' \
    >>"$DIR/log/start.timing"
}

# wait_for SECONDS WHAT CMD...: runs CMD until it succeeds; dies after SECONDS.
wait_for() {
  local secs=$1 what=$2
  shift 2
  local deadline=$(($(date +%s) + secs))
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || die "timed out after ${secs}s waiting for $what"
    sleep 0.2
  done
}

pid_alive() {
  local st
  st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ -n "$st" && "$st" != Z* ]]
}

# ceph_ DIR ARGS...: the ceph CLI against the cluster in DIR, with a timeout so that a dead
# monitor cannot hang a test.
ceph_() {
  local dir=$1
  shift
  timeout 30 ceph -c "$dir/ceph.conf" --connect-timeout 20 "$@"
}

# quiet DIR CMD...: runs CMD with its output in DIR/log/cli.log, shown only when CMD fails.
quiet() {
  local dir=$1
  shift
  echo "+ $*" >>"$dir/log/cli.log"
  if ! "$@" >>"$dir/log/cli.log" 2>&1; then
    tail -n 20 "$dir/log/cli.log" >&2
    die "failed: $*"
  fi
}

# free_port: a TCP port below the ephemeral range that nothing listens on.
free_port() {
  local used port
  used=" $(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk 'NR > 1 && $4 == "0A" {
    split($2, a, ":"); print a[length(a)] }' | while read -r h; do echo $((16#$h)); done | tr '\n' ' ') "
  while :; do
    port=$((20000 + RANDOM % 12000))
    [[ "$used" == *" $port "* ]] || break
  done
  echo "$port"
}

write_conf() {
  local dir=$1 fsid=$2 port=$3
  cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$port]
mon initial members = a
public addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $dir/client.admin.keyring
run dir = $dir/run
crash dir = $dir/crash
log to stderr = false
err to stderr = true
# One copy of everything, one host: nothing to replicate to and no warnings about it.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
auth allow insecure global id reclaim = false

[mon]
mon data = $dir/mon
keyring = $dir/mon/keyring
log file = $dir/log/\$name.log
mon cluster log file = $dir/log/cluster.log
mon data avail warn = 1
mon data avail crit = 0
# A monitor of a test cluster keeps few maps; the default 512 MiB RocksDB cache is for
# clusters with thousands of OSDs.
rocksdb cache size = 33554432
mon osd report timeout = 60
# Commit map changes (an OSD booting, a pool created) after 0.1s instead of batching them for
# a second: most of a start is waiting for such changes.
paxos propose interval = 0.1

[osd]
osd data = $dir/osd
keyring = $dir/osd/keyring
log file = $dir/log/\$name.log
osd objectstore = bluestore
bluestore block create = true
bluestore block size = ${CEPH_CLUSTER_BLOCK_SIZE:-4294967296}
bluestore fsck on mkfs = false
bluestore fsck on mount = false
# Every close of the block file waits for the aio thread's poll: 250 ms by default, and a
# start opens and closes the file about ten times.
bdev aio poll ms = 20
# Small fixed caches instead of autotuning towards a 4 GiB osd_memory_target.
bluestore cache autotune = false
bluestore cache size = 67108864
osd memory target = 939524096
osd op num shards = 2
osd op num threads per shard = 1
EOF
}

# start_mon DIR: starts the monitor in the foreground under setsid, its pid in DIR/run/mon.pid.
start_mon() {
  local dir=$1
  setsid ceph-mon -c "$dir/ceph.conf" -i a -f >>"$dir/log/mon.a.out" 2>&1 </dev/null &
  echo $! >"$dir/run/mon.pid"
}

start_osd() {
  local dir=$1
  setsid ceph-osd -c "$dir/ceph.conf" -i 0 -f >>"$dir/log/osd.0.out" 2>&1 </dev/null &
  echo $! >"$dir/run/osd.pid"
}

# osd_up_from DIR: the osdmap epoch from which osd.0 is up, empty when it is down.
osd_up_from() {
  ceph_ "$1" osd dump | awk '$1 == "osd.0" && $2 == "up" { print $7 }'
}

# pool_writable DIR POOL: one object written, read back and removed.
pool_writable() {
  local dir=$1 pool=$2 got
  echo "probe $$" >"$dir/run/probe.in"
  timeout 10 rados -c "$dir/ceph.conf" -p "$pool" put ceph_cluster.probe "$dir/run/probe.in" || return 1
  timeout 10 rados -c "$dir/ceph.conf" -p "$pool" get ceph_cluster.probe "$dir/run/probe.out" || return 1
  got="$(cat "$dir/run/probe.out")"
  [[ "$got" == "probe $$" ]] || return 1
  timeout 10 rados -c "$dir/ceph.conf" -p "$pool" rm ceph_cluster.probe
}

# check_alive DIR NAME: dies with the daemon's log when it has exited.
check_alive() {
  local dir=$1 name=$2 pid
  pid="$(cat "$dir/run/$name.pid" 2>/dev/null)" || die "no pid file for $name"
  if ! pid_alive "$pid"; then
    tail -n 30 "$dir/log/$name"*.out "$dir/log/$name"*.log 2>/dev/null >&2 || true
    die "$name (pid $pid) exited; logs in $dir/log"
  fi
}

# wait_osd_up DIR [AFTER_EPOCH]: until osd.0 is up from an epoch newer than AFTER_EPOCH.
wait_osd_up() {
  local dir=$1 after=${2:-0} deadline=$(($(date +%s) + 60)) up
  while :; do
    check_alive "$dir" osd
    up="$(osd_up_from "$dir" 2>/dev/null || true)"
    [[ -n "$up" && "$up" -gt "$after" ]] && return 0
    (($(date +%s) < deadline)) || die "osd.0 not up after 60s; logs in $dir/log"
    sleep 0.2
  done
}

cmd_start() {
  local dir
  dir="$(abs "$1")"
  shift
  local pools=("$@")
  ((${#pools[@]})) || pools=(clonefs)
  if [[ -e "$dir" ]] && [[ -n "$(ls -A "$dir")" ]]; then
    die "$dir is not empty"
  fi
  for b in ceph-mon ceph-osd ceph-authtool monmaptool ceph rados; do
    command -v "$b" >/dev/null || die "$b not found (tools/deps.sh ceph)"
  done
  DIR="$dir"
  T0="$(now)"
  # A start that fails half-way must not leave a monitor behind.
  trap 'cmd_stop "$dir" 2>/dev/null || true' ERR EXIT
  mkdir -p "$dir"/{run,log,crash,mon,osd}

  local fsid port
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  port="$(free_port)"
  write_conf "$dir" "$fsid" "$port"
  mark conf

  # Keys: mon. (the monitors' shared secret) and client.admin, both known to the monitor from
  # its first start.
  ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$dir/client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/client.admin.keyring" >/dev/null
  chmod 600 "$dir/mon.keyring" "$dir/client.admin.keyring"
  mark keys

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" "$dir/monmap" >/dev/null
  ceph-mon -c "$dir/ceph.conf" -i a --mkfs --monmap "$dir/monmap" --keyring "$dir/mon.keyring" \
    >"$dir/log/mon.a.mkfs" 2>&1 || { cat "$dir/log/mon.a.mkfs" >&2; die "ceph-mon --mkfs failed"; }
  mark "mon mkfs"
  start_mon "$dir"
  wait_for 30 "the monitor on 127.0.0.1:$port" ceph_ "$dir" mon stat
  check_alive "$dir" mon
  mark "mon up"

  # The OSD: registered with its own key, then BlueStore made on the block file.
  local osd_uuid osd_key id
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  osd_key="$(ceph-authtool --gen-print-key)"
  id="$(printf '{"cephx_secret": "%s"}' "$osd_key" | ceph_ "$dir" osd new "$osd_uuid" -i -)"
  [[ "$id" == 0 ]] || die "ceph osd new returned '$id', expected 0"
  mark "osd new"
  ceph-authtool --create-keyring "$dir/osd/keyring" -n osd.0 --add-key "$osd_key" >/dev/null
  ceph-osd -c "$dir/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$dir/log/osd.0.mkfs" 2>&1 ||
    { tail -n 30 "$dir/log/osd.0.mkfs" "$dir/log/osd.0.log" >&2; die "ceph-osd --mkfs failed"; }
  mark "osd mkfs"
  start_osd "$dir"
  wait_osd_up "$dir"
  mark "osd up"

  local p
  for p in "${pools[@]}"; do
    quiet "$dir" ceph_ "$dir" osd pool create "$p" 8 8
    quiet "$dir" ceph_ "$dir" osd pool application enable "$p" rados
  done
  mark "pools created"
  for p in "${pools[@]}"; do
    wait_for 60 "pool $p to take writes" pool_writable "$dir" "$p"
  done
  mark "pools writable"
  trap - ERR EXIT
  echo "$dir/ceph.conf"
}

# stop_daemon DIR NAME SIG: signals the daemon and waits until it is gone (SIGKILL after 30s).
stop_daemon() {
  local dir=$1 name=$2 sig=${3:-TERM} pid
  pid="$(cat "$dir/run/$name.pid" 2>/dev/null)" || return 0
  if pid_alive "$pid"; then
    kill -s "$sig" "$pid" 2>/dev/null || true
    local deadline=$(($(date +%s) + 30))
    while pid_alive "$pid"; do
      if (($(date +%s) >= deadline)); then
        echo "ceph_cluster: $name (pid $pid) ignored SIG$sig for 30s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$(($(date +%s) + 30))
      fi
      sleep 0.1
    done
  fi
  rm -f "$dir/run/$name.pid"
}

cmd_stop() {
  local dir
  dir="$(abs "$1")"
  [[ -f "$dir/ceph.conf" ]] || die "no cluster in $dir"
  stop_daemon "$dir" osd TERM
  stop_daemon "$dir" mon TERM
}

# wait_pools_writable DIR: until every pool of the cluster takes writes.
wait_pools_writable() {
  local dir=$1 p
  while read -r p; do
    [[ -n "$p" ]] && wait_for 60 "pool $p to take writes" pool_writable "$dir" "$p"
  done < <(ceph_ "$dir" osd pool ls)
}

cmd_restart() {
  local dir before
  dir="$(abs "$1")"
  [[ -f "$dir/ceph.conf" ]] || die "no cluster in $dir"
  cmd_stop "$dir"
  start_mon "$dir"
  wait_for 30 "the monitor" ceph_ "$dir" mon stat
  check_alive "$dir" mon
  # The map still shows osd.0 up from its previous life until the new one boots.
  before="$(osd_up_from "$dir")"
  start_osd "$dir"
  wait_osd_up "$dir" "${before:-0}"
  wait_pools_writable "$dir"
}

cmd_restart_osd() {
  local dir sig=${2:-KILL} before
  dir="$(abs "$1")"
  [[ -f "$dir/ceph.conf" ]] || die "no cluster in $dir"
  check_alive "$dir" mon
  before="$(osd_up_from "$dir")"
  [[ -n "$before" ]] || die "osd.0 is not up"
  stop_daemon "$dir" osd "$sig"
  start_osd "$dir"
  wait_osd_up "$dir" "$before"
  # Up in the map is not yet serving: wait for every pool's PGs to be active again.
  wait_pools_writable "$dir"
}

(($# >= 2)) || usage
case "$1" in
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop "$2" ;;
  restart-osd) cmd_restart_osd "$2" "${3:-KILL}" ;;
  restart) cmd_restart "$2" ;;
  status) ceph_ "$(abs "$2")" -s ;;
  *) usage ;;
esac
