# Shared by the benchmarks in bench/. Source it after setting BENCH_NAME.
#
# Builds clonefs (Release) unless --no-build, then reuses the test helpers (tests/lib.sh): a
# scratch directory with a cleanup that always unmounts, detaches loops and stops daemons.
# The scratch directory is under $CLONEFS_BENCH_DIR (default /var/tmp): the plain file and the
# store live there, so both sides of a comparison are on the same filesystem.

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_BUILD="${CLONEFS_BUILD_DIR:-$BENCH_ROOT/build}"
BENCH_WRITE=0
BENCH_NO_BUILD=0
declare -a BENCH_ARGS=()

bench_parse_common() {
  while (($#)); do
    case "$1" in
      --write) BENCH_WRITE=1 ;;
      --no-build) BENCH_NO_BUILD=1 ;;
      *) BENCH_ARGS+=("$1") ;;
    esac
    shift
  done
}

bench_setup() {
  if ((!BENCH_NO_BUILD)); then
    "$BENCH_ROOT/tools/deps.sh" all
    "$BENCH_ROOT/tools/build.sh" >/dev/null
  fi
  export CLONEFS_TEST_TMPDIR="${CLONEFS_BENCH_DIR:-/var/tmp}"
  TEST_NAME="$(basename "$0" .sh)"
  # shellcheck source=../tests/lib.sh
  source "$BENCH_ROOT/tests/lib.sh"
  t_init "$BENCH_BUILD/tools/clonefs" "$BENCH_BUILD/tools/clonectl"
}

# One line describing this machine.
bench_machine() {
  local cpu fs
  cpu="$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
  fs="$(findmnt -n -o FSTYPE,SOURCE --target "$T" | tr -s ' ')"
  printf '%s cores (%s), %s GiB RAM, kernel %s, scratch fs %s' "$(nproc)" "$cpu" \
    "$(awk '/MemTotal/ {printf "%d", $2 / 1048576 + 0.5}' /proc/meminfo)" "$(uname -r)" "$fs"
}

# The commit the binaries were built from (as far as this tree knows).
bench_commit() {
  local c
  c="$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  git -C "$BENCH_ROOT" diff --quiet HEAD 2>/dev/null || c="$c with local changes"
  echo "$c"
}

# Median of the numbers given as arguments.
median() {
  printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }

# "VmRSS VmHWM" of a process, in MiB.
rss_mib() {
  awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {printf "%.0f %.0f", r / 1024, h / 1024}' "/proc/$1/status"
}

# bench_publish SECTION FILE: prints FILE and, with --write, puts it into docs/BENCHMARKS.md
# between the markers of SECTION (replacing an earlier run's figures).
bench_publish() {
  local section=$1 body=$2 doc="$BENCH_ROOT/docs/BENCHMARKS.md"
  cat "$body"
  ((BENCH_WRITE)) || return 0
  mkdir -p "$(dirname "$doc")"
  if [[ ! -f "$doc" ]]; then
    cat >"$doc" <<'EOF'
# Benchmarks

How fast a volume is compared with the same workload on a plain file of the same filesystem.
Both sides run in one invocation of the script, on the same machine, interleaved (plain,
volume, plain, volume, ...) so that drift of the machine hits both alike; each figure is the
median of 3 runs. The volume is uncompressed, 4 KiB pages, default cache (512 MiB).

- `bench/fio_bench.sh [--write]`: fio with direct I/O and libaio on the volume file in the
  mount vs a plain file beside the store; also the daemon's resident memory.
- `bench/pgbench_bench.sh [--write]`: pgbench TPS with PostgreSQL 15 on ext4 on a loop device
  on the volume vs on a plain image file.

`--write` replaces that script's section below; the section says when and on what machine it
was measured. The targets are those of the project: sequential 1 MiB write and read ≥ 0.8×
the plain file, 4 KiB random read and write (iodepth 32) ≥ 0.5×, pgbench TPS ≥ 0.7×.
EOF
  fi
  python3 - "$doc" "$section" "$body" <<'EOF'
import sys
doc, section, body = sys.argv[1], sys.argv[2], open(sys.argv[3]).read().rstrip("\n")
begin, end = f"<!-- BEGIN {section} -->", f"<!-- END {section} -->"
text = open(doc).read()
block = f"{begin}\n{body}\n{end}"
if begin in text and end in text:
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    text = head + block + tail
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(doc, "w").write(text)
EOF
  log "updated section $section of $doc"
}
