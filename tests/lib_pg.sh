# shellcheck shell=bash
# PostgreSQL 15 for the tests in tests/ and for bench/pgbench_bench.sh. Source it beside
# tests/lib.sh (it uses `fail`), then call `pg_require` and, once $T exists, `pg_rundir DIR`.
#
# Every server runs as the Unix user $PG_OS_USER (default postgres) and listens only on a Unix
# socket in $PGRUN (no TCP), on the port its caller gives; clients run as that user too and
# connect there as the superuser postgres, with trust authentication. lib.sh's cleanup stops (-m immediate) every server pg_start started that is
# still running, on every exit path.

PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
PGRUN=""                # sockets and logs: set by pg_rundir
PG_OS_USER=postgres     # the Unix user servers and clients run as
declare -ga T_PGDATA=() # data dirs of the servers pg_start started

# Fails unless PostgreSQL 15 and the postgres user are there.
pg_require() {
  [[ -x $PGBIN/postgres ]] || fail "PostgreSQL 15 is not installed ($PGBIN/postgres missing)"
  id postgres >/dev/null 2>&1 || fail "no postgres user"
}

# pg_rundir DIR: sets PGRUN to DIR and creates it for $PG_OS_USER.
pg_rundir() {
  PGRUN=$1
  mkdir -p "$PGRUN"
  chown "$PG_OS_USER": "$PGRUN"
}

# pg CMD...: runs CMD as $PG_OS_USER, as the database superuser postgres.
pg() { runuser -u "$PG_OS_USER" -- env PGUSER=postgres "$@"; }

# pg_initdb DATADIR LOG [ENCODING]: creates DATADIR (it must not exist yet; mode 0700, owned by
# $PG_OS_USER) and a cluster in it: trust authentication, superuser postgres, locale C, ENCODING
# (default UTF8). initdb's output goes to LOG, which is printed when initdb fails.
pg_initdb() {
  local data=$1 logf=$2 encoding=${3:-UTF8}
  mkdir "$data" || fail "cannot create $data"
  chown "$PG_OS_USER": "$data"
  chmod 700 "$data"
  pg "$PGBIN/initdb" -D "$data" -A trust -U postgres -E "$encoding" --locale=C >"$logf" 2>&1 ||
    { cat "$logf"; fail "initdb failed"; }
}

# pg_start DATADIR PORT LOG [TIMEOUT_S [OPTIONS]]: starts the server of DATADIR on PORT with
# its log in LOG and waits until it accepts connections (at most TIMEOUT_S, default 120).
# OPTIONS: more server options, e.g. "-c shared_buffers=256MB".
pg_start() {
  local data=$1 port=$2 logf=$3 timeout=${4:-120} options=${5:-}
  [[ " ${T_PGDATA[*]} " == *" $data "* ]] || T_PGDATA+=("$data")
  pg "$PGBIN/pg_ctl" -D "$data" -l "$logf" -w -t "$timeout" \
    -o "-k $PGRUN -p $port -c listen_addresses=''${options:+ $options}" start >/dev/null ||
    fail "postgres on $data (port $port) did not start; see $logf"
}

# pg_stop DATADIR: fast shutdown (rolls back open transactions, then a checkpoint).
pg_stop() {
  pg "$PGBIN/pg_ctl" -D "$1" -m fast -w -t 120 stop >/dev/null || fail "postgres on $1 did not stop"
}

# pg_client PROGRAM PORT ARGS...: runs $PGBIN/PROGRAM (pgbench, pg_amcheck, psql...) as postgres
# against the server on PORT.
pg_client() {
  local program=$1 port=$2
  shift 2
  pg "$PGBIN/$program" -h "$PGRUN" -p "$port" "$@"
}

# pg_sql PORT SQL: runs SQL in database postgres; prints the rows unaligned, '|' between columns,
# without headers; fails on the first error.
pg_sql() { pg_client psql "$1" -X -A -t -q -v ON_ERROR_STOP=1 -d postgres -c "$2"; }

# pg_amcheck_clean PORT WHAT: pg_amcheck --all --heapallindexed on the server on PORT finds and
# reports nothing (the notice that amcheck is already installed aside); WHAT names it.
pg_amcheck_clean() {
  local out="$PGRUN/amcheck.$2.log"
  pg_client pg_amcheck "$1" --all --heapallindexed --install-missing >"$out" 2>&1 ||
    { cat "$out"; fail "$2: pg_amcheck found corruption"; }
  ! grep -v 'NOTICE:  extension "amcheck" already exists, skipping' "$out" ||
    fail "$2: pg_amcheck reported something"
  log "$2: pg_amcheck --all --heapallindexed clean"
}

# pg_bench_summary LOG: the TPS and transaction count lines of pgbench's output LOG, indented.
pg_bench_summary() {
  grep -E '^(tps|number of (transactions actually processed|failed))' "$1" | sed 's/^/    /'
}

# Called by lib.sh's cleanup: stops every server pg_start started that is still running, as
# the user owning its data directory.
pg_cleanup() {
  local data
  for data in "${T_PGDATA[@]}"; do
    [[ -f "$data/postmaster.pid" ]] || continue
    PG_OS_USER="$(stat -c %U "$data")" pg "$PGBIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1
  done
}
