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

# bench_parse_args "NAME=DEFAULT..." ARGS...: reads the command line of a benchmark. --write and
# --no-build may come anywhere; so may the script's own options, which it takes in its own
# bench_option (defined after sourcing this file; called with each other argument, returns 0
# when it took it). The remaining arguments set the variables NAME... in order; one that is
# missing or empty gets its DEFAULT.
bench_option() { return 1; }
bench_parse_args() {
  local -a specs positional=()
  read -r -a specs <<<"$1"
  shift
  while (($#)); do
    case "$1" in
      --write) BENCH_WRITE=1 ;;
      --no-build) BENCH_NO_BUILD=1 ;;
      *) bench_option "$1" || positional+=("$1") ;;
    esac
    shift
  done
  local i
  for i in "${!specs[@]}"; do
    printf -v "${specs[i]%%=*}" '%s' "${positional[i]:-${specs[i]#*=}}"
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

# The fio jobs of the throughput benchmarks: sequential 1 MiB blocks at iodepth 8, random 4 KiB
# blocks at iodepth 32.
declare -gA FIO_JOB_ARGS=(
  [seqwrite]="--rw=write --bs=1m --iodepth=8"
  [seqread]="--rw=read --bs=1m --iodepth=8"
  [randread]="--rw=randread --bs=4k --iodepth=32"
  [randwrite]="--rw=randwrite --bs=4k --iodepth=32"
)

# fio_job JOB FILE SIZE RUNTIME_S JSON: one run of JOB on the first SIZE bytes of FILE (direct
# I/O, libaio, RUNTIME_S seconds after a 2 s ramp); its JSON report goes to JSON.
fio_job() {
  # shellcheck disable=SC2086
  fio --name="$1" --filename="$2" --direct=1 --ioengine=libaio --size="$3" \
    --time_based --runtime="$4" --ramp_time=2 --randrepeat=0 --norandommap \
    ${FIO_JOB_ARGS[$1]} --output-format=json --output="$5" >/dev/null
}

# fio_result JSON JOB: from fio_job's report, MiB/s for sequential jobs, IOPS for random ones.
fio_result() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
side = job["write"] if "write" in sys.argv[2] else job["read"]
print(f"{side['bw'] / 1024:.1f}" if sys.argv[2].startswith("seq") else f"{side['iops']:.0f}")
EOF
}

# fio_layout FILE SIZE: writes FILE in full (SIZE bytes, 1 MiB blocks, direct I/O), so that the
# jobs read or overwrite real data.
fio_layout() {
  fio --name=layout --filename="$1" --direct=1 --ioengine=libaio --rw=write --bs=1m \
    --iodepth=8 --size="$2" --output=/dev/null
}

# The runs of the fio benchmarks, each with its report in $RES/SIDE.JOB.REP.json.
# fio_run SIDE JOB REP FILE: run REP of JOB on the first $SIZE bytes of FILE, for $RUNTIME s.
fio_run() {
  fio_job "$2" "$4" "$SIZE" "$RUNTIME" "$RES/$1.$2.$3.json" || fail "fio $2 on $1 failed"
}

# fio_value SIDE JOB REP: that run's figure (fio_result).
fio_value() { fio_result "$RES/$1.$2.$3.json" "$2"; }

# fio_median SIDE JOB: the median of the figures of runs 1 to $REPS.
fio_median() {
  local rep vals=()
  for rep in $(seq "$REPS"); do
    vals+=("$(fio_value "$1" "$2" "$rep")") || return
  done
  median "${vals[@]}"
}

# fio_desc JOB: JOB as the tables name it; fio_unit JOB: the unit of its figures.
fio_desc() {
  case $1 in
    seq*) echo "$1 1 MiB, iodepth 8" ;;
    *) echo "$1 4 KiB, iodepth 32" ;;
  esac
}
fio_unit() {
  case $1 in
    seq*) echo "MiB/s" ;;
    *) echo "IOPS" ;;
  esac
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

# The line under a table's heading: when, on what machine, from which commit.
bench_measured() {
  echo "Measured $(date -u +%Y-%m-%d) on $(bench_machine); clonefs $(bench_commit)."
}

# The version of fio, e.g. 3.33.
fio_version() { fio --version | sed 's/^fio-//'; }

# Median of the numbers given as arguments.
median() {
  printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }

# meets A B TARGET: "yes" if A/B >= TARGET, computed from the medians, not the rounded ratio.
meets() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN {print (b > 0 && a / b >= t) ? "yes" : "no"}'; }

# "VmRSS VmHWM" of a process, in MiB.
rss_mib() {
  awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {printf "%.0f %.0f", r / 1024, h / 1024}' "/proc/$1/status"
}

# bench_publish SECTION FILE [AFTER]: prints FILE and, with --write, puts it into
# docs/BENCHMARKS.md between the markers of SECTION (replacing an earlier run's figures). A new
# section goes right after section AFTER when there is one, else at the end.
bench_publish() {
  local section=$1 body=$2 after=${3:-} doc="$BENCH_ROOT/docs/BENCHMARKS.md"
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
  python3 - "$doc" "$section" "$body" "$after" <<'EOF'
import sys
doc, section, body = sys.argv[1], sys.argv[2], open(sys.argv[3]).read().rstrip("\n")
begin, end = f"<!-- BEGIN {section} -->", f"<!-- END {section} -->"
after_end = f"<!-- END {sys.argv[4]} -->" if sys.argv[4] else None
text = open(doc).read()
block = f"{begin}\n{body}\n{end}"
if begin in text and end in text:
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    text = head + block + tail
elif after_end and after_end in text:
    head, tail = text.split(after_end, 1)
    text = head + after_end + "\n\n" + block + tail
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(doc, "w").write(text)
EOF
  log "updated section $section of $doc"
}
