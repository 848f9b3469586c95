#!/usr/bin/env bash
# run_with_cluster.sh TEST_BINARY [ARGS...]: starts a throwaway cluster
# (tests/testing/ceph_cluster.sh) with the pool "clonefs", runs the test binary against it and
# stops the cluster on every exit path. ctest -L rados runs it. The binary finds the cluster in:
#   CLONEFS_RADOS_CONF         its ceph.conf (names the client.admin keyring)
#   CLONEFS_RADOS_POOL         the pool to work in
#   CLONEFS_RADOS_CLUSTER_DIR  the cluster's directory, for `ceph_cluster.sh restart-osd`
#   CLONEFS_CEPH_CLUSTER_SH    the path of ceph_cluster.sh
set -euo pipefail
binary="$(realpath "$1")"
shift
cluster="$(realpath "$(dirname "$(realpath "$0")")/../../tests/testing/ceph_cluster.sh")"
dir="$(mktemp -d "${CLONEFS_TEST_TMPDIR:-/tmp}/clonefs-rados-test.XXXXXX")"
trap '"$cluster" stop "$dir/cluster" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
CLONEFS_RADOS_CONF="$("$cluster" start "$dir/cluster" clonefs)"
export CLONEFS_RADOS_CONF
export CLONEFS_RADOS_POOL=clonefs
export CLONEFS_RADOS_CLUSTER_DIR="$dir/cluster"
export CLONEFS_CEPH_CLUSTER_SH="$cluster"
"$binary" "$@"
