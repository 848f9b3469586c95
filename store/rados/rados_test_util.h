// What the RADOS tests share: the cluster run_with_cluster.sh started (found through the
// environment), a connection into a namespace of each test's own, and a restart of the OSD.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "store/rados/rados_cluster.h"
#include "store/rados/rados_segment_store.h"
#include "tests/testing/testing.h"

namespace clonefs::store::testing {

inline std::string EnvOr(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

// Skips the test when the binary was started without a cluster (not through ctest).
#define SKIP_WITHOUT_RADOS_CLUSTER()                                                       \
  do {                                                                                     \
    if (::clonefs::store::testing::EnvOr("CLONEFS_RADOS_CONF").empty()) {                  \
      GTEST_SKIP() << "no cluster: run through store/rados/run_with_cluster.sh (ctest -L " \
                      "rados)";                                                            \
    }                                                                                      \
  } while (0)

// A namespace no other test (nor an earlier run against the same pool) uses:
// "<suite>.<test>.<pid>.<n>".
inline std::string FreshNamespace() {
  static std::atomic<int> n{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(info->test_suite_name()) + "." + info->name() + "." +
         std::to_string(::getpid()) + "." + std::to_string(n++);
}

// A new connection to the test cluster, working in `ns`.
inline Result<std::shared_ptr<RadosCluster>> ConnectTestCluster(const std::string& ns) {
  RadosCluster::Options o;
  o.conf_path = EnvOr("CLONEFS_RADOS_CONF");
  o.pool = EnvOr("CLONEFS_RADOS_POOL", "clonefs");
  o.ns = ns;
  return RadosCluster::Connect(o);
}

// A segment store in `ns` over a new connection.
inline Result<std::shared_ptr<RadosSegmentStore>> OpenTestSegments(const std::string& ns,
                                                                   uint64_t segment_bytes = 64ull
                                                                                            << 20) {
  CLONEFS_ASSIGN_OR_RETURN(auto cluster, ConnectTestCluster(ns));
  RadosSegmentStore::Options o;
  o.segment_bytes = segment_bytes;
  return RadosSegmentStore::Open(std::move(cluster), o);
}

// SIGKILLs the OSD and starts it again on the same store (tests/testing/ceph_cluster.sh);
// returns once it serves I/O again.
inline bool RestartOsd() {
  const std::string cmd = EnvOr("CLONEFS_CEPH_CLUSTER_SH") + " restart-osd " +
                          EnvOr("CLONEFS_RADOS_CLUSTER_DIR") + " KILL >/dev/null";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace clonefs::store::testing
