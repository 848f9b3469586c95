#!/usr/bin/env bash
# run_probe.sh RADOS_PROBE: starts a throwaway cluster (tests/testing/ceph_cluster.sh), runs the
# probe against it and stops the cluster on every exit path. ctest -L rados runs it.
set -euo pipefail
probe="$(realpath "$1")"
cluster="$(dirname "$(realpath "$0")")/../../../tests/testing/ceph_cluster.sh"
dir="$(mktemp -d "${CLONEFS_TEST_TMPDIR:-/tmp}/clonefs-rados-probe.XXXXXX")"
trap '"$cluster" stop "$dir/cluster" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
conf="$("$cluster" start "$dir/cluster" probe)"
"$probe" "$conf" probe
