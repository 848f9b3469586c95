// The sync-point campaign: one store workload (writes, zero pages, discards, syncs, snapshots,
// segment rolls and checkpoints) is run once to count its sync points (every segment file sync
// and directory sync), then once more for each of them with the machine crashing at exactly
// that point: unsynced bytes are dropped, files whose names were never synced vanish, and the
// process exits without cleanup. After every crash the store must open, and every write a
// successful sync acknowledged must read back, in the volume and in each snapshot made.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "store/store.h"
#include "tests/testing/fault_env.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;
using clonefs::testing::TempDir;

constexpr uint64_t kPages = 256;
constexpr uint64_t kPageSize = 4096;
const std::string kZeroPage(kPageSize, '\0');

struct Op {
  enum Kind { kWrite, kZero, kDiscard, kSync, kSnapshot } kind;
  uint64_t page = 0;
  uint64_t count = 0;
  uint64_t seed = 0;
};

std::vector<Op> Workload() {
  std::mt19937_64 rng(20261207);
  std::vector<Op> ops;
  for (int i = 0; i < 160; ++i) {
    const uint64_t r = rng() % 100;
    const uint64_t page = rng() % kPages;
    const uint64_t count = 1 + rng() % std::min<uint64_t>(24, kPages - page);
    if (r < 62) {
      ops.push_back({Op::kWrite, page, count, rng()});
    } else if (r < 68) {
      ops.push_back({Op::kZero, page, 1, 0});
    } else if (r < 76) {
      ops.push_back({Op::kDiscard, page, count, 0});
    } else if (r < 94) {
      ops.push_back({Op::kSync, 0, 0, 0});
    } else {
      ops.push_back({Op::kSnapshot, 0, 0, 0});
    }
  }
  ops.push_back({Op::kSync, 0, 0, 0});
  return ops;
}

std::string PageContent(const Op& op, uint64_t page) {
  return op.kind == Op::kWrite ? Pattern(op.seed + page, kPageSize) : kZeroPage;
}

std::string SnapshotName(size_t op_index) { return "s" + std::to_string(op_index); }

StoreOptions CampaignOptions(Env* env) {
  StoreOptions o;
  o.env = env;
  o.segment_bytes = 256 << 10;   // a segment roll every ~60 pages
  o.checkpoint_entries = 16;     // an inline checkpoint every 64 map entries
  o.background_threads = false;  // so that the sync points come in the same order every run
  return o;
}

// Runs the workload in a child process through a FaultInjectionEnv that crashes at sync point
// `crash_at` (0: never; the child then crashes after the last op). The child writes to
// `report` the number of sync points it reached and the index of the first op that failed
// (ops.size() when none did; -1 when the store did not even open).
void RunChild(const std::string& dir, const std::vector<Op>& ops, uint64_t crash_at,
              const std::string& report) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FaultInjectionEnv env(Env::Default());
    env.CrashAtSync(crash_at);
    int64_t failed = static_cast<int64_t>(ops.size());
    auto store = Store::Open(dir, CampaignOptions(&env));
    std::shared_ptr<VolumeHandle> vol;
    if (store.ok()) {
      auto opened = (*store)->OpenVolume("vol");
      if (opened.ok()) vol = *opened;
    }
    if (vol == nullptr) failed = -1;
    for (size_t i = 0; vol != nullptr && i < ops.size(); ++i) {
      const Op& op = ops[i];
      Status s;
      if (op.kind == Op::kWrite || op.kind == Op::kZero) {
        std::string data;
        for (uint64_t p = op.page; p < op.page + op.count; ++p) data += PageContent(op, p);
        s = vol->Write(op.page * kPageSize, data);
      } else if (op.kind == Op::kDiscard) {
        s = vol->Discard(op.page * kPageSize, op.count * kPageSize);
      } else if (op.kind == Op::kSync) {
        s = vol->Sync();
      } else {
        s = (*store)->CreateSnapshot("vol", SnapshotName(i), {}).status();
      }
      if (!s.ok()) {
        failed = static_cast<int64_t>(i);
        break;
      }
    }
    if (crash_at == 0) env.DropUnsyncedData().IgnoreError();
    std::ofstream(report) << env.sync_points() << " " << failed << "\n";
    _exit(0);  // no destructor: a crashed machine runs no cleanup
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
}

// What may be read after a crash, per page: the content of the last acknowledged sync, or any
// content written after it (such a write may or may not have reached the disk).
struct Expectation {
  std::map<uint64_t, std::string> durable;
  std::map<uint64_t, std::set<std::string>> maybe;

  bool Allows(uint64_t page, const std::string& got) const {
    auto d = durable.find(page);
    if (got == (d == durable.end() ? kZeroPage : d->second)) return true;
    auto m = maybe.find(page);
    return m != maybe.end() && m->second.count(got) > 0;
  }
};

struct Model {
  Expectation volume;
  std::map<std::string, Expectation> snapshots;  // the snapshots made, by name
};

// The model of the ops before `failed` (which all succeeded) and of op `failed` itself (which
// did not, and may have happened in part or in full).
Model Expect(const std::vector<Op>& ops, int64_t failed) {
  Model m;
  std::map<uint64_t, std::string> latest;
  // Snapshots made since the last acknowledged sync, with the volume's content when made: until
  // a sync they share the volume's uncertainty of that moment; after one they are exact.
  std::map<std::string, std::map<uint64_t, std::string>> unsynced_snapshots;
  const int64_t last = std::min<int64_t>(failed, static_cast<int64_t>(ops.size()) - 1);
  for (int64_t i = 0; i <= last; ++i) {
    const Op& op = ops[i];
    const bool acknowledged = i < failed;
    if (op.kind == Op::kSync) {
      if (!acknowledged) continue;
      m.volume.durable = latest;
      m.volume.maybe.clear();
      for (auto& [name, content] : unsynced_snapshots) m.snapshots[name] = {content, {}};
      unsynced_snapshots.clear();
    } else if (op.kind == Op::kSnapshot) {
      if (!acknowledged) continue;  // it may or may not exist: not checked
      m.snapshots[SnapshotName(i)] = m.volume;
      unsynced_snapshots[SnapshotName(i)] = latest;
    } else {
      for (uint64_t p = op.page; p < op.page + op.count; ++p) {
        latest[p] = PageContent(op, p);
        m.volume.maybe[p].insert(latest[p]);
      }
    }
  }
  return m;
}

// Checks every page of `handle` against `e`; describes the first mismatch.
std::string Check(VolumeHandle* handle, const Expectation& e) {
  std::string got(kPageSize, '\0');
  for (uint64_t p = 0; p < kPages; ++p) {
    Status s = handle->Read(p * kPageSize, kPageSize, got.data());
    if (!s.ok()) return "page " + std::to_string(p) + ": " + s.ToString();
    if (!e.Allows(p, got)) {
      return "page " + std::to_string(p) + " holds neither its synced content nor a later write";
    }
  }
  return "";
}

TEST(SyncPointCrash, AcknowledgedWritesSurviveACrashAtEverySyncPoint) {
  TempDir tmp;
  const std::string base = tmp.path() + "/base";
  ASSERT_OK(Store::Create(base, "local", Env::Default()));
  {
    auto store = Store::Open(base, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    VolumeOptions vo;
    vo.size_bytes = kPages * kPageSize;
    ASSERT_TRUE((*store)->CreateVolume("vol", vo).ok());
  }
  const std::vector<Op> ops = Workload();
  const std::string dir = tmp.path() + "/run";
  const std::string report = tmp.path() + "/report";
  auto run = [&](uint64_t crash_at, uint64_t* points, int64_t* failed) {
    std::filesystem::remove_all(dir);
    std::filesystem::copy(base, dir, std::filesystem::copy_options::recursive);
    RunChild(dir, ops, crash_at, report);
    std::ifstream in(report);
    ASSERT_TRUE(in >> *points >> *failed) << "no report from the child";
  };

  uint64_t total = 0;
  int64_t failed = 0;
  run(0, &total, &failed);
  ASSERT_EQ(failed, static_cast<int64_t>(ops.size())) << "the workload fails with no crash";
  // Segment rolls and checkpoints make many more sync points than the workload's syncs.
  ASSERT_GT(total, 60u) << "the workload reaches too few sync points to mean much";
  std::printf("the workload reaches %llu sync points; crashing at each in turn\n",
              static_cast<unsigned long long>(total));

  for (uint64_t k = 0; k <= total; ++k) {
    uint64_t points = 0;
    run(k, &points, &failed);
    if (k > 0) {
      ASSERT_EQ(points, k) << "crash at sync point " << k << ": the run took another path";
      ASSERT_LT(failed, static_cast<int64_t>(ops.size())) << "crash at " << k << " went unseen";
    }
    const Model m = Expect(ops, failed);
    auto store = Store::Open(dir, StoreOptions());
    ASSERT_TRUE(store.ok()) << "crash at sync point " << k << ": " << store.status().ToString();
    auto vol = (*store)->OpenVolume("vol");
    ASSERT_TRUE(vol.ok()) << "crash at sync point " << k << ": " << vol.status().ToString();
    std::string why = Check(vol->get(), m.volume);
    ASSERT_EQ(why, "") << "crash at sync point " << k << " (op " << failed << "): volume " << why;
    for (const auto& [name, e] : m.snapshots) {
      auto snap = (*store)->OpenSnapshot(name);
      ASSERT_TRUE(snap.ok()) << "crash at sync point " << k << ": snapshot " << name << ": "
                             << snap.status().ToString();
      why = Check(snap->get(), e);
      ASSERT_EQ(why, "") << "crash at sync point " << k << ": snapshot " << name << " " << why;
    }
  }
}

}  // namespace
}  // namespace clonefs::store
