// Crash tests: a child process writes through a fault-injecting Env and "crashes" by cutting
// every segment file back to its last synced length and exiting without any cleanup. The
// parent reopens the store (automatic recovery) and checks every page against a model.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

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

constexpr uint64_t kPages = 512;
constexpr uint64_t kPageSize = 4096;

struct Op {
  enum Kind { kWrite, kSync, kDiscard, kZero } kind;
  uint64_t page;
  uint64_t count;
  uint64_t seed;
};

std::vector<Op> MakeOps(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  std::vector<Op> ops;
  for (int i = 0; i < n; ++i) {
    uint64_t r = rng() % 100;
    uint64_t page = rng() % kPages;
    uint64_t count = 1 + rng() % std::min<uint64_t>(64, kPages - page);
    if (r < 70)
      ops.push_back({Op::kWrite, page, count, rng()});
    else if (r < 82)
      ops.push_back({Op::kSync, 0, 0, 0});
    else if (r < 92)
      ops.push_back({Op::kDiscard, page, count, 0});
    else
      ops.push_back({Op::kZero, page, 1, 0});
  }
  return ops;
}

std::string PageContent(const Op& op, uint64_t page) {
  if (op.kind != Op::kWrite) return std::string(kPageSize, '\0');
  return Pattern(op.seed + page, kPageSize);
}

StoreOptions CrashOptions(Env* env) {
  StoreOptions o;
  o.env = env;
  o.segment_bytes = 1 << 20;  // many segment rolls
  o.checkpoint_entries = 64;  // many checkpoints
  return o;
}

// Runs `ops` in a child process against the store, then crashes it: unsynced segment bytes are
// dropped and the process exits with no destructor run.
void RunAndCrash(const std::string& dir, const std::vector<Op>& ops) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FaultInjectionEnv env(Env::Default());
    auto store = Store::Open(dir, CrashOptions(&env));
    if (!store.ok()) _exit(3);
    auto vol = (*store)->OpenVolume("vol");
    if (!vol.ok()) _exit(4);
    for (const Op& op : ops) {
      Status s;
      if (op.kind == Op::kWrite || op.kind == Op::kZero) {
        std::string data;
        for (uint64_t p = op.page; p < op.page + op.count; ++p) data += PageContent(op, p);
        s = (*vol)->Write(op.page * kPageSize, data);
      } else if (op.kind == Op::kDiscard) {
        s = (*vol)->Discard(op.page * kPageSize, op.count * kPageSize);
      } else {
        s = (*vol)->Sync();
      }
      if (!s.ok()) _exit(5);
    }
    if (!env.DropUnsyncedData().ok()) _exit(6);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
}

TEST(Crash, SyncedWritesSurviveAndNothingReadsAsGarbage) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/s";
  ASSERT_OK(Store::Create(dir, "local", Env::Default()));
  {
    auto store = Store::Open(dir, StoreOptions());
    ASSERT_TRUE(store.ok());
    VolumeOptions vo;
    vo.size_bytes = kPages * kPageSize;
    ASSERT_TRUE((*store)->CreateVolume("vol", vo).ok());
  }
  // For each page: the content at the last sync, and every content written after it.
  std::map<uint64_t, std::string> durable;
  std::map<uint64_t, std::set<std::string>> maybe;
  auto content_now = [&](uint64_t p) {
    return durable.count(p) ? durable[p] : std::string(kPageSize, '\0');
  };
  for (int round = 0; round < 8; ++round) {
    std::vector<Op> ops = MakeOps(1000 + round, 300);
    RunAndCrash(dir, ops);
    // Model: after a sync, everything before it is durable.
    std::map<uint64_t, std::string> latest;
    for (const Op& op : ops) {
      if (op.kind == Op::kSync) {
        for (auto& [p, c] : latest) durable[p] = c;
        maybe.clear();
        continue;
      }
      for (uint64_t p = op.page; p < op.page + op.count; ++p) {
        latest[p] = PageContent(op, p);
        maybe[p].insert(latest[p]);
      }
    }
    auto store = Store::Open(dir, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto vol = (*store)->OpenVolume("vol");
    ASSERT_TRUE(vol.ok());
    for (uint64_t p = 0; p < kPages; ++p) {
      std::string got(kPageSize, '\0');
      ASSERT_OK((*vol)->Read(p * kPageSize, kPageSize, got.data()));
      bool ok = got == content_now(p) || maybe[p].count(got);
      ASSERT_TRUE(ok) << "round " << round << " page " << p
                      << " holds neither its synced content nor a later write";
      durable[p] = got;  // what survived is the new baseline
    }
    maybe.clear();
  }
}

TEST(Crash, TornTailIsCutAndLaterWritesSurvive) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/s";
  ASSERT_OK(Store::Create(dir, "local", Env::Default()));
  std::string expected;  // what MakeOps-style writes of seed 7 put into pages 0..63
  for (uint64_t p = 0; p < 64; ++p) expected += Pattern(7 + p, kPageSize);
  {
    auto store = Store::Open(dir, StoreOptions());
    ASSERT_TRUE(store.ok());
    VolumeOptions vo;
    vo.size_bytes = kPages * kPageSize;
    ASSERT_TRUE((*store)->CreateVolume("vol", vo).ok());
  }
  RunAndCrash(dir, {{Op::kWrite, 0, 64, 7}, {Op::kSync, 0, 0, 0}});
  // Append half a record of garbage to the newest segment, as a torn write would leave.
  std::string newest;
  auto names = Env::Default()->ListDir(dir + "/segments");
  ASSERT_TRUE(names.ok());
  for (auto& name : *names) newest = std::max(newest, name);
  {
    auto f = Env::Default()->OpenFile(dir + "/segments/" + newest, false);
    ASSERT_TRUE(f.ok());
    uint64_t size = *(*f)->Size();
    ASSERT_OK((*f)->WriteAt(size, std::string(100, '\x5A')));
  }
  for (int i = 0; i < 2; ++i) {
    auto store = Store::Open(dir, StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto vol = (*store)->OpenVolume("vol");
    std::string got(64 * kPageSize, '\0');
    ASSERT_OK((*vol)->Read(0, got.size(), got.data()));
    ASSERT_EQ(got, expected);
    ASSERT_OK((*vol)->Write(100 * kPageSize, Pattern(99 + i, kPageSize)));
    ASSERT_OK((*vol)->Sync());
  }
  auto store = Store::Open(dir, StoreOptions());
  auto vol = (*store)->OpenVolume("vol");
  std::string got(kPageSize, '\0');
  ASSERT_OK((*vol)->Read(100 * kPageSize, kPageSize, got.data()));
  EXPECT_EQ(got, Pattern(100, kPageSize));
}

TEST(Crash, CorruptRecordIsAnErrorNeverWrongBytes) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/s";
  ASSERT_OK(Store::Create(dir, "local", Env::Default()));
  {
    auto store = Store::Open(dir, StoreOptions());
    VolumeOptions vo;
    vo.size_bytes = kPages * kPageSize;
    ASSERT_TRUE((*store)->CreateVolume("vol", vo).ok());
    auto vol = (*store)->OpenVolume("vol");
    ASSERT_OK((*vol)->Write(0, Pattern(5, 2 * kPageSize)));
  }
  // Flip one byte inside the first page's payload.
  std::string seg;
  auto names = Env::Default()->ListDir(dir + "/segments");
  ASSERT_TRUE(names.ok());
  for (auto& name : *names) seg = std::max(seg, name);
  {
    auto f = Env::Default()->OpenFile(dir + "/segments/" + seg, false);
    char c;
    ASSERT_OK((*f)->ReadAt(64 + 64 + 100, 1, &c));
    c ^= 1;
    ASSERT_OK((*f)->WriteAt(64 + 64 + 100, std::string_view(&c, 1)));
  }
  auto store = Store::Open(dir, StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto vol = (*store)->OpenVolume("vol");
  std::string got(kPageSize, '\0');
  EXPECT_TRUE((*vol)->Read(0, kPageSize, got.data()).IsCorruption());
  ASSERT_OK((*vol)->Read(kPageSize, kPageSize, got.data()));  // the neighbour is fine
  EXPECT_EQ(got, Pattern(5, 2 * kPageSize).substr(kPageSize));
}

TEST(DiskFull, NoSpaceKeepsAcknowledgedDataAndRecovers) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/s";
  ASSERT_OK(Store::Create(dir, "local", Env::Default()));
  FaultInjectionEnv env(Env::Default());
  StoreOptions o;
  o.env = &env;
  auto store = Store::Open(dir, o);
  ASSERT_TRUE(store.ok());
  VolumeOptions vo;
  vo.size_bytes = 64 << 20;
  ASSERT_TRUE((*store)->CreateVolume("vol", vo).ok());
  auto vol = *(*store)->OpenVolume("vol");
  std::string first = Pattern(1, 1 << 20);
  ASSERT_OK(vol->Write(0, first));
  ASSERT_OK(vol->Sync());
  env.SetWriteBudget(300 * 1024);  // room for a few more pages only
  Status s;
  uint64_t written = 1 << 20;
  for (; written < (8u << 20) && (s = vol->Write(written, Pattern(written, 65536))).ok();
       written += 65536) {
  }
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  std::string got(first.size(), '\0');
  ASSERT_OK(vol->Read(0, got.size(), got.data()));
  EXPECT_EQ(got, first);
  // The failed write changed nothing: its range still reads as before (zeros).
  std::string failed(65536, 'x');
  ASSERT_OK(vol->Read(written, failed.size(), failed.data()));
  EXPECT_EQ(failed, std::string(65536, '\0'));
  env.SetWriteBudget(-1);  // space freed
  ASSERT_OK(vol->Write(written, Pattern(written, 65536)));
  ASSERT_OK(vol->Sync());
  vol.reset();
  store->reset();
  auto again = Store::Open(dir, StoreOptions());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto v2 = *(*again)->OpenVolume("vol");
  ASSERT_OK(v2->Read(written, failed.size(), failed.data()));
  EXPECT_EQ(failed, Pattern(written, 65536));
}

}  // namespace
}  // namespace clonefs::store
