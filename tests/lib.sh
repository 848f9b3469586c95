# Shared helpers for the integration tests in tests/. Source it, then call `t_init "$@"`.
#
# Every test gets a fresh directory under /tmp, or $CLONEFS_TEST_TMPDIR ($T). On every exit
# path (success, failure, signal) the cleanup stops PostgreSQL servers it started (with
# tests/lib_pg.sh), unmounts every filesystem mounted under $T (innermost first), detaches every
# loop device whose backing file is under $T, unmounts FUSE mounts (lazily if they are busy or
# dead), kills leftover daemons, prints the daemon logs when the test failed, and removes $T
# without crossing into any mount.
#
# Exit codes: 0 pass, 77 skip (only when /dev/fuse is missing), anything else fail.

set -euo pipefail

T=""
CLONEFS=""
CLONECTL=""
TEST_NAME="${TEST_NAME:-$(basename "${BASH_SOURCE[1]:-$0}" .sh)}"
DAEMON_PID=""          # pid of the daemon serving the most recent mount_store
declare -a T_DAEMONS=()  # every daemon pid started by this test
declare -a T_LOOPS=()    # "DEVICE FILE" of every loop device this test attached
declare -a T_USERS=()    # Unix users this test created (t_useradd)
T_LOG_SEQ=0
T_STARTED=$(date +%s)

log() { printf '[%s +%ss] %s\n' "$TEST_NAME" "$(($(date +%s) - T_STARTED))" "$*"; }
step() { printf '\n[%s +%ss] === %s\n' "$TEST_NAME" "$(($(date +%s) - T_STARTED))" "$*"; }
fail() {
  printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
  exit 1
}

skip_loudly() {
  {
    echo "################################################################################"
    echo "# SKIPPED $TEST_NAME: $*"
    echo "################################################################################"
  } >&2
  exit 77
}

# t_init CLONEFS_BIN CLONECTL_BIN: checks the environment, creates $T, installs the trap.
t_init() {
  [[ $# -ge 2 ]] || fail "usage: $0 CLONEFS_BIN CLONECTL_BIN"
  CLONEFS="$(realpath "$1")"
  CLONECTL="$(realpath "$2")"
  [[ -x "$CLONEFS" ]] || fail "not executable: $CLONEFS"
  [[ -x "$CLONECTL" ]] || fail "not executable: $CLONECTL"
  # The only reason to skip: no FUSE device on this machine.
  [[ -e /dev/fuse ]] || skip_loudly "/dev/fuse is missing, so nothing can be mounted here"
  [[ $EUID -eq 0 ]] || fail "mount tests must run as root (they use losetup and mount)"
  command -v fusermount3 >/dev/null || fail "fusermount3 not found (apt-get install fuse3)"
  T="$(mktemp -d "${CLONEFS_TEST_TMPDIR:-/tmp}/clonefs-${TEST_NAME}.XXXXXX")"
  chmod 755 "$T"
  trap 't_cleanup' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  log "workdir $T"
}

need_loop() {
  [[ -e /dev/loop-control ]] || modprobe loop 2>/dev/null || true
  [[ -e /dev/loop-control ]] || fail "loop devices are unavailable (/dev/loop-control missing)"
}

# --- process helpers ----------------------------------------------------------------------

# True while the process exists and is not a zombie.
pid_alive() {
  local st
  st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ -n "$st" && "$st" != Z* ]]
}

# wait_gone PID SECONDS: waits until PID has exited; false on timeout.
wait_gone() {
  local pid=$1 deadline=$(($(date +%s) + $2))
  while pid_alive "$pid"; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.1
  done
}

# Prints the pid recorded in STORE/LOCK.
lock_pid() {
  grep -o '[0-9]\+' "$1/LOCK" 2>/dev/null | head -n 1
}

# --- stores and mounts --------------------------------------------------------------------

ctl() { "$CLONECTL" --store "$STORE" "$@"; }

# jc STORE ARGS...: clonectl --json against STORE; fails the test when the command fails.
jc() {
  local store=$1 out
  shift
  out="$("$CLONECTL" --store "$store" --json "$@" 2>"$T/jc.err")" ||
    fail "clonectl --store $store $* failed: $(cat "$T/jc.err") $out"
  printf '%s\n' "$out"
}
# show STORE SNAPSHOT: the snapshot as `snapshot show --json` describes it.
show() { jc "$1" snapshot show "$2"; }
# live_bytes STORE: bytes of records something can still read (store usage).
live_bytes() { jc "$1" store usage | jq -er .LiveBytes; }
# sum_of FILE: a checksum of FILE's bytes.
sum_of() { b2sum <"$1" | cut -d' ' -f1; }

# new_store DIR [REGION]: creates a store and sets STORE.
new_store() {
  STORE="$1"
  "$CLONECTL" --store "$STORE" init ${2:+--region "$2"} >/dev/null || fail "clonectl init $STORE failed"
}

is_mounted() { findmnt -rn -M "$1" >/dev/null 2>&1; }

# mount_store STORE MNT [fg|daemon] [-o OPTS]: mounts and sets DAEMON_PID.
#   fg      (default) runs `clonefs -f` in the background with its log in $T, waits until ready
#   daemon  runs `clonefs` without -f and asserts that it returns only once the mount is ready
mount_store() {
  local store=$1 mnt=$2 mode=${3:-fg}
  shift 2
  [[ $# -gt 0 ]] && shift
  # Automated backups off unless a test asks (BACKUPS=on): a volume's window starting during
  # a test would add a snapshot no other test expects.
  local opts=(-o "log_level=info,backups=${BACKUPS:-off}${MOUNT_OPTS:+,$MOUNT_OPTS}")
  mkdir -p "$mnt"
  T_LOG_SEQ=$((T_LOG_SEQ + 1))
  local logf="$T/clonefs.$T_LOG_SEQ.log"
  if [[ $mode == daemon ]]; then
    local rc=0
    "$CLONEFS" "$store" "$mnt" "${opts[@]}" "$@" >"$logf" 2>&1 || rc=$?
    if ((rc != 0)); then
      cat "$logf" >&2
      fail "clonefs $store $mnt exited with $rc"
    fi
    # It returned: the mount must be usable right now, without waiting.
    is_mounted "$mnt" || fail "clonefs returned before $mnt was mounted"
    [[ -d "$mnt/volumes" && -d "$mnt/snapshots" ]] || fail "$mnt/volumes or $mnt/snapshots missing right after clonefs returned"
    DAEMON_PID="$(lock_pid "$store")"
    [[ -n "$DAEMON_PID" ]] || fail "no pid in $store/LOCK"
    pid_alive "$DAEMON_PID" || fail "pid $DAEMON_PID from $store/LOCK is not running"
  else
    # setsid: a signal to the test's process group must not unmount the daemon under us.
    setsid "$CLONEFS" "$store" "$mnt" -f "${opts[@]}" "$@" >"$logf" 2>&1 &
    DAEMON_PID=$!
    local deadline=$(($(date +%s) + 30))
    until is_mounted "$mnt" && [[ -d "$mnt/volumes" ]]; do
      if ! pid_alive "$DAEMON_PID"; then
        cat "$logf" >&2
        fail "clonefs -f $store $mnt died before the mount was ready"
      fi
      (($(date +%s) < deadline)) || fail "mount of $store at $mnt not ready after 30 s"
      sleep 0.1
    done
    local lp
    lp="$(lock_pid "$store")"
    [[ "$lp" == "$DAEMON_PID" ]] || fail "$store/LOCK names pid '$lp', but the daemon is $DAEMON_PID"
  fi
  T_DAEMONS+=("$DAEMON_PID")
  [[ "$(findmnt -rn -o FSTYPE -M "$mnt")" == fuse* ]] || fail "$mnt is not a FUSE mount"
  log "mounted $store at $mnt (daemon pid $DAEMON_PID, $mode)"
}

# unmount_store STORE MNT: clean unmount; asserts the daemon exits (with 0 when it is our child)
# and releases STORE/LOCK.
unmount_store() {
  local store=$1 mnt=$2 pid
  pid="$(lock_pid "$store")"
  [[ -n "$pid" ]] || fail "no pid in $store/LOCK before unmount"
  fusermount3 -u "$mnt" || fail "fusermount3 -u $mnt failed"
  wait_gone "$pid" 120 || fail "daemon $pid did not exit within 120 s of fusermount3 -u"
  if [[ " $(jobs -p | tr '\n' ' ') " == *" $pid "* ]]; then
    local rc=0
    wait "$pid" || rc=$?
    ((rc == 0)) || fail "daemon $pid exited with status $rc after a clean unmount"
  fi
  flock -n "$store/LOCK" true || fail "$store/LOCK still held after daemon $pid exited"
  log "unmounted $mnt (daemon $pid exited)"
}

# kill9_store STORE MNT: kills the daemon with SIGKILL and removes the dead mount.
kill9_store() {
  local store=$1 mnt=$2 pid
  pid="$(lock_pid "$store")"
  [[ -n "$pid" ]] || fail "no pid in $store/LOCK"
  kill -9 "$pid"
  wait_gone "$pid" 30 || fail "daemon $pid survived kill -9"
  wait "$pid" 2>/dev/null || true
  fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
  local deadline=$(($(date +%s) + 30))
  while is_mounted "$mnt"; do
    (($(date +%s) < deadline)) || fail "$mnt still mounted after fusermount3 -uz"
    sleep 0.1
  done
  flock -w 30 "$store/LOCK" true || fail "$store/LOCK still held after daemon $pid was killed"
  log "killed daemon $pid with SIGKILL and removed the dead mount $mnt"
}

# --- loop devices and ext4 ------------------------------------------------------------------

# loop_attach VAR FILE [losetup options...]: attaches FILE and stores the device in VAR.
loop_attach() {
  local __var=$1 __file=$2 __dev
  shift 2
  __dev="$(losetup -f --show "$@" "$__file")" || fail "losetup $* $__file failed"
  printf -v "$__var" '%s' "$__dev"
  T_LOOPS+=("$__dev $__file")
  log "attached $__file at $__dev $*"
}

# loop_attach_as USER VAR FILE: as loop_attach, but FILE is opened as USER (tests/loop_as.py):
# for an image only USER's account sees in the mount.
loop_attach_as() {
  local __user=$1 __var=$2 __file=$3 __dev
  __dev="$(python3 "$(dirname "${BASH_SOURCE[0]}")/loop_as.py" "$__user" "$__file")" ||
    fail "attaching $__file as $__user failed"
  printf -v "$__var" '%s' "$__dev"
  T_LOOPS+=("$__dev $__file")
  log "attached $__file (opened as $__user) at $__dev"
}

loop_detach() {
  local dev=$1 i
  for i in $(seq 50); do
    losetup -d "$dev" 2>/dev/null && break
    sleep 0.1
  done
  # Detach is asynchronous while the device is still open: wait until it is gone.
  for i in $(seq 100); do
    losetup -l -n -O NAME 2>/dev/null | grep -qx "$dev" || return 0
    sleep 0.1
  done
  fail "loop device $dev did not detach"
}

# Direct I/O state of a loop device (1 or 0).
loop_dio() { losetup -l -n -O DIO "$1" | tr -d ' '; }

# --- helpers ------------------------------------------------------------------------------

IOTOOL="$(dirname "${BASH_SOURCE[0]}")/iotool.py"
iotool() { python3 "$IOTOOL" "$@"; }

# t_useradd NAME: a Unix user without home or login shell, removed again by the cleanup.
t_useradd() {
  useradd --system --no-create-home --no-user-group --gid nogroup --shell /usr/sbin/nologin "$1" ||
    fail "useradd $1 failed"
  T_USERS+=("$1")
}
# run_as USER COMMAND...: runs COMMAND as USER.
run_as() {
  local user=$1
  shift
  runuser -u "$user" -- "$@"
}
# ctl_as USER ARGS...: clonectl against $STORE as USER; its stdout, stderr and exit code go to
# $LAST.{o,e,rc} (a new $LAST each time), for expect_ok, expect_error and same_output.
T_RUNS=0
ctl_as() {
  local user=$1 rc=0
  shift
  T_RUNS=$((T_RUNS + 1))
  LAST="$T/out.$T_RUNS"
  runuser -u "$user" -- "$CLONECTL" --store "$STORE" "$@" >"$LAST.o" 2>"$LAST.e" || rc=$?
  echo "$rc" >"$LAST.rc"
}
# expect_error CODE: the last ctl_as failed (exit 1) with error CODE.
expect_error() {
  [[ "$(cat "$LAST.rc")" == 1 ]] || fail "expected exit 1 with $1, got $(cat "$LAST.rc"): $(cat "$LAST.e" "$LAST.o")"
  grep -q "^clonectl: $1: " "$LAST.e" || fail "expected $1, got: $(cat "$LAST.e")"
}
expect_ok() {
  [[ "$(cat "$LAST.rc")" == 0 ]] || fail "expected success, got $(cat "$LAST.rc"): $(cat "$LAST.e")"
}
# same_output RUN1 RUN2: byte-identical stdout, stderr and exit code of two runs ($LAST values).
same_output() {
  local x
  for x in o e rc; do
    cmp -s "$1.$x" "$2.$x" || fail "outputs differ ($x): $(cat "$1.$x") | $(cat "$2.$x")"
  done
}

# like_missing RUN NAME: RUN (an earlier $LAST, naming NAME) answered exactly as the run just
# made, which named "no-such" in its place: the same stdout, exit code and, but for the name
# echoed as typed, stderr.
like_missing() {
  sed "s/no-such/$2/" "$LAST.e" | cmp -s - "$1.e" || fail "$2: $(cat "$1.e") | $(cat "$LAST.e")"
  cmp -s "$LAST.rc" "$1.rc" && cmp -s "$LAST.o" "$1.o" || fail "$2: exit code or stdout differ"
}

# A free TCP port on the loopback interface.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Stored bytes of one volume, from `clonectl --json volume usage NAME`.
volume_stored_bytes() {
  ctl --json volume usage "$1" | iotool json-get stored_bytes
}

# Fails if any daemon of this test logged a failed integrity check: never expected.
assert_no_corruption() {
  local hits
  hits="$(grep -i -h 'corrupt' "$T"/clonefs.*.log 2>/dev/null | head -n 5 || true)"
  [[ -z "$hits" ]] || fail "the daemon logged corruption:
$hits"
}

# --- cleanup ------------------------------------------------------------------------------

# Lines "TARGET FSTYPE SOURCE" of mounts under $T, most recent first.
t_mounts_under() {
  findmnt -rn -o TARGET,FSTYPE,SOURCE 2>/dev/null | awk -v p="$1/" 'index($1, p) == 1' | tac
}

# Loop devices whose backing file is under $1.
t_loops_under() {
  losetup -l -n --raw -O NAME,BACK-FILE 2>/dev/null | awk -v p="$1/" 'index($2, p) == 1 {print $1}'
}

t_cleanup() {
  local rc=$? target fstype source pid dev
  set +e
  trap - EXIT INT TERM
  [[ -n "$T" && -d "$T" ]] || exit "$rc"
  cd /
  # PostgreSQL servers of a test that uses tests/lib_pg.sh.
  declare -F pg_cleanup >/dev/null && pg_cleanup
  while read -r target fstype source; do
    [[ -n "$target" ]] || continue
    if [[ $fstype == fuse* ]]; then
      for dev in $(t_loops_under "$target"); do losetup -d "$dev" 2>/dev/null; done
      sleep 0.2
      fusermount3 -u "$target" 2>/dev/null || fusermount3 -uz "$target" 2>/dev/null || umount -l "$target"
    else
      umount "$target" 2>/dev/null || umount -l "$target"
      [[ $source == /dev/loop* ]] && losetup -d "$source" 2>/dev/null
    fi
  done < <(t_mounts_under "$T")
  for dev in $(t_loops_under "$T"); do losetup -d "$dev" 2>/dev/null; done
  local user
  for user in "${T_USERS[@]}"; do userdel "$user" 2>/dev/null; done
  for pid in "${T_DAEMONS[@]}"; do
    if pid_alive "$pid" && ! wait_gone "$pid" 30; then
      echo "[$TEST_NAME] cleanup: daemon $pid still running; killing it" >&2
      kill -9 "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null  # reap our own children
  done
  # A loop device whose file sat in a lazily unmounted mount no longer shows a path under $T
  # but the rest of it (/volumes/v for $T/mnt/volumes/v): find it by device and that suffix.
  local entry file now
  for entry in "${T_LOOPS[@]}"; do
    read -r dev file <<<"$entry"
    now="$(losetup -l -n --raw -O BACK-FILE "$dev" 2>/dev/null)"
    now="${now% (deleted)}"
    [[ -n "$now" && "$file" == *"$now" ]] && losetup -d "$dev" 2>/dev/null
  done
  if ((rc != 0 && rc != 77)); then
    local f
    for f in "$T"/clonefs.*.log "$T"/pg/*.log; do
      [[ -s "$f" ]] || continue
      echo "----- last lines of $f -----" >&2
      tail -n 60 "$f" >&2
    done
    echo "[$TEST_NAME] FAILED (exit $rc)" >&2
  fi
  if [[ -n "$(t_mounts_under "$T")" ]]; then
    echo "[$TEST_NAME] cleanup: mounts remain under $T; leaving it in place:" >&2
    t_mounts_under "$T" >&2
  else
    rm -rf --one-file-system "$T"
  fi
  ((rc == 0)) && echo "[$TEST_NAME] PASSED in $(($(date +%s) - T_STARTED)) s"
  exit "$rc"
}
