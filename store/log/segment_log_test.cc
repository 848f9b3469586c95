// SegmentLog's write buffer and block-aligned files: what is appended reads back at once, from
// memory or disk, and a reopened log ends cleanly at the zero padding after its last record.
#include "store/log/segment_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "store/log/log_test_util.h"
#include "store/log/memory_segment_store.h"
#include "store/log/posix_segment_store.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;
using clonefs::testing::TempDir;
using testing::Records;
using testing::SmallOptions;

// The log over segment files in `dir`, as a store opens it.
Result<std::unique_ptr<SegmentLog>> OpenLog(const std::string& dir,
                                            const SegmentLog::Options& options) {
  CLONEFS_ASSIGN_OR_RETURN(auto files, PosixSegmentStore::Open(Env::Default(), dir));
  return SegmentLog::Open(std::move(files), options);
}

// Appends the `i`th of a series of records of odd sizes (so that they straddle block and
// chunk boundaries) and notes where it went.
void AppendOdd(SegmentLog& log, int i, std::vector<std::pair<RecordLocation, std::string>>* out) {
  std::string recs = Records(i * 10, 1 + i % 3, 100 + (i * 37) % 5000);
  auto loc = log.Append(recs);
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  out->emplace_back(*loc, std::move(recs));
}

TEST(SegmentLog, AppendsReadBackBeforeAndAfterTheyReachDisk) {
  TempDir tmp;
  auto log = OpenLog(tmp.path() + "/seg", SmallOptions());
  ASSERT_TRUE(log.ok());
  std::vector<std::pair<RecordLocation, std::string>> appended;
  for (int i = 0; i < 300; ++i) {
    ASSERT_NO_FATAL_FAILURE(AppendOdd(**log, i, &appended));
    // Every earlier append reads back, whether buffered, being written or on disk.
    const auto& [check_loc, check] = appended[(i * 7) % appended.size()];
    std::string got(check.size(), '\0');
    ASSERT_OK((*log)->ReadRun(check_loc.segment, check_loc.offset, got.size(), got.data()));
    ASSERT_EQ(got, check) << "append " << i;
  }
  ASSERT_OK((*log)->Sync());
  for (const auto& [loc, recs] : appended) {
    std::string got(recs.size(), '\0');
    ASSERT_OK((*log)->ReadRun(loc.segment, loc.offset, got.size(), got.data()));
    ASSERT_EQ(got, recs);
  }
  auto names = Env::Default()->ListDir(tmp.path() + "/seg");
  ASSERT_TRUE(names.ok());
  ASSERT_GT(names->size(), 2u);  // the appends rolled over several segments
  for (const std::string& name : *names) {
    auto f = Env::Default()->OpenFile(tmp.path() + "/seg/" + name, false);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(*(*f)->Size() % kDirectIoAlignment, 0u) << name;
  }
}

// ReadRunDirect's bytes of [offset, offset + n) of `segment`, or its failure.
Result<std::string> ReadDirect(const SegmentLog& log, uint32_t segment, uint64_t offset, size_t n) {
  AlignedBuffer buf;
  CLONEFS_ASSIGN_OR_RETURN(const char* run, log.ReadRunDirect(segment, offset, n, &buf));
  return std::string(run, n);
}

TEST(SegmentLog, DirectReadsSeeRecordsBufferedBeingWrittenAndOnDisk) {
  TempDir tmp;
  auto log = OpenLog(tmp.path() + "/seg", SmallOptions());  // the writer thread writes out often
  ASSERT_TRUE(log.ok());
  std::vector<std::pair<RecordLocation, std::string>> appended;
  for (int i = 0; i < 300; ++i) {
    ASSERT_NO_FATAL_FAILURE(AppendOdd(**log, i, &appended));
    for (size_t back : {size_t{0}, (i * 7) % appended.size()}) {
      const auto& [check_loc, check] = appended[appended.size() - 1 - back];
      auto got = ReadDirect(**log, check_loc.segment, check_loc.offset, check.size());
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_EQ(*got, check) << "append " << i << ", " << back << " back";
    }
  }
  ASSERT_OK((*log)->Sync());
  for (const auto& [loc, recs] : appended) {
    auto got = ReadDirect(**log, loc.segment, loc.offset, recs.size());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(*got, recs);
  }
}

// A run that starts in the active segment's written part (its last block partial on disk) and
// ends in the write buffer, which will rewrite that block: both halves read back.
TEST(SegmentLog, ADirectReadSpansTheWrittenLogAndTheWriteBuffer) {
  TempDir tmp;
  SegmentLog::Options o = SmallOptions();
  o.flush_bytes = 4 << 20;  // nothing is written out but by Flush()
  o.max_pending_bytes = 8 << 20;
  auto log = OpenLog(tmp.path() + "/seg", o);
  ASSERT_TRUE(log.ok());
  const std::string written = Records(1, 3, 1000);  // ends inside a block
  auto first = (*log)->Append(written);
  ASSERT_TRUE(first.ok());
  ASSERT_NE((first->offset + written.size()) % kDirectIoAlignment, 0u);
  ASSERT_OK((*log)->Flush());
  const std::string buffered = Records(4, 2, 3000);
  auto second = (*log)->Append(buffered);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->segment, first->segment);
  ASSERT_EQ(second->offset, first->offset + written.size());
  auto got = ReadDirect(**log, first->segment, first->offset, written.size() + buffered.size());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, written + buffered);
  // Only the buffered part, from inside the block the write-out will rewrite.
  got = ReadDirect(**log, second->segment, second->offset + 10, buffered.size() - 10);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, buffered.substr(10));
  ASSERT_OK((*log)->Flush());
  got = ReadDirect(**log, first->segment, first->offset, written.size() + buffered.size());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, written + buffered);
  EXPECT_FALSE(ReadDirect(**log, first->segment + 7, 64, 10).ok());  // no such segment
}

TEST(SegmentLog, ReopenedLogReplaysEveryRecordAndEndsCleanly) {
  TempDir tmp;
  size_t records = 0;
  {
    auto log = OpenLog(tmp.path() + "/seg", SmallOptions());
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE((*log)->Append(Records(i * 10, 2, 777 + i)).ok());
      records += 2;
    }
    ASSERT_OK((*log)->Sync());
  }
  auto log = OpenLog(tmp.path() + "/seg", SmallOptions());
  ASSERT_TRUE(log.ok());
  size_t seen = 0;
  ASSERT_OK(
      (*log)->Replay(LogPosition{1, kSegmentHeaderSize},
                     [&](const RecordHeader& h, std::string_view payload, const RecordLocation&) {
                       EXPECT_EQ(payload, Pattern(h.seq, payload.size()));
                       ++seen;
                       return Status::OK();
                     }));
  EXPECT_EQ(seen, records);  // the zero padding did not read as a torn tail
  for (const auto& [id, size] : (*log)->Segments()) {
    ASSERT_OK((*log)->ScanSegment(id, [](const RecordHeader&, std::string_view,
                                         const RecordLocation&) { return Status::OK(); }));
  }
}

TEST(SegmentLog, UnsyncedAppendsAreLostOnlyAsASuffix) {
  TempDir tmp;
  std::string dir = tmp.path() + "/seg";
  {
    auto log = OpenLog(dir, SmallOptions());
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE((*log)->Append(Records(i * 10, 1, 3000)).ok());
    ASSERT_OK((*log)->Sync());
    ASSERT_TRUE((*log)->Append(Records(10000, 1, 3000)).ok());
    // Leak the log: a process killed now never writes out its buffer.
    log->release();
  }
  auto log = OpenLog(dir, SmallOptions());
  ASSERT_TRUE(log.ok());
  std::vector<uint64_t> seqs;
  ASSERT_OK((*log)->Replay(LogPosition{1, kSegmentHeaderSize},
                           [&](const RecordHeader& h, std::string_view, const RecordLocation&) {
                             seqs.push_back(h.seq);
                             return Status::OK();
                           }));
  ASSERT_EQ(seqs.size(), 50u);
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i * 10);
}

// Once flush_bytes are pending the buffer goes to disk (the log's writer thread) with no
// Flush() or Sync() from anyone.
TEST(SegmentLog, WriterThreadWritesPendingRecordsOut) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/seg";
  const SegmentLog::Options o = SmallOptions();
  auto log = OpenLog(dir, o);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(Records(1, 20, 4096)).ok());  // above flush_bytes, one segment
  ASSERT_GT(20u * 4096, o.flush_bytes);
  auto file = Env::Default()->OpenFile(dir + "/0000000001.seg", /*create=*/false);
  ASSERT_TRUE(file.ok());
  uint64_t size = 0;
  for (int i = 0; i < 500 && size < 20u * 4096; ++i) {
    auto s = (*file)->Size();
    ASSERT_TRUE(s.ok());
    size = *s;
    if (size < 20u * 4096) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(size, 20u * 4096) << "nothing wrote the pending records out within 5 s";
}

// Segment names are synced only by Sync(), so a crash can lose a segment created since the
// last one while a later segment's name survives. Nothing after the gap was acknowledged as
// durable: replay ends the log at the gap, as at a torn record.
TEST(SegmentLog, ReplayEndsTheLogAtAMissingSegment) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/seg";
  {
    auto log = OpenLog(dir, SmallOptions());
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 40; ++i) ASSERT_TRUE((*log)->Append(Records(i * 4, 4, 4096)).ok());
    ASSERT_OK((*log)->Sync());
    ASSERT_GE((*log)->Segments().size(), 3u);
  }
  ASSERT_OK(Env::Default()->DeleteFile(dir + "/0000000002.seg"));
  auto log = OpenLog(dir, SmallOptions());
  ASSERT_TRUE(log.ok());
  std::set<uint32_t> seen;
  ASSERT_OK((*log)->Replay(LogPosition{1, 0},
                           [&](const RecordHeader&, std::string_view, const RecordLocation& loc) {
                             seen.insert(loc.segment);
                             return Status::OK();
                           }));
  EXPECT_EQ(seen, std::set<uint32_t>{1});
  const auto segments = (*log)->Segments();
  ASSERT_EQ(segments.size(), 1u) << "segments after the gap must be deleted";
  EXPECT_EQ(segments[0].first, 1u);
}

// The same log over a second backend: segments in memory, with a power cut modelled. The log
// needs nothing of a filesystem.
TEST(SegmentLogInMemory, SyncedRecordsSurviveACrashAndTheUnsyncedSuffixGoes) {
  auto memory = std::make_shared<MemorySegmentStore>();
  {
    auto log = SegmentLog::Open(memory, SmallOptions());
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 120; ++i) ASSERT_TRUE((*log)->Append(Records(i * 10, 1, 3000)).ok());
    ASSERT_OK((*log)->Sync());
    ASSERT_GE((*log)->Segments().size(), 2u);
    // Written out but never synced, so lost, and then a segment whose creation is not synced.
    for (int i = 0; i < 100; ++i) ASSERT_TRUE((*log)->Append(Records(5000 + i, 1, 3000)).ok());
    ASSERT_OK((*log)->Flush());
    memory->Crash();
    log->release();  // a crashed process never writes its buffer out
  }
  auto log = SegmentLog::Open(memory, SmallOptions());
  ASSERT_TRUE(log.ok());
  std::vector<uint64_t> seqs;
  ASSERT_OK(
      (*log)->Replay(LogPosition{1, kSegmentHeaderSize},
                     [&](const RecordHeader& h, std::string_view payload, const RecordLocation&) {
                       EXPECT_EQ(payload, Pattern(h.seq, payload.size()));
                       seqs.push_back(h.seq);
                       return Status::OK();
                     }));
  ASSERT_EQ(seqs.size(), 120u);
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i * 10);
}

// With no alignment demanded, writes carry no padding and records still read back and replay.
TEST(SegmentLogInMemory, UnalignedStoreHoldsExactlyTheRecords) {
  auto memory = std::make_shared<MemorySegmentStore>(/*alignment=*/1);
  std::vector<std::pair<RecordLocation, std::string>> appended;
  {
    auto log = SegmentLog::Open(memory, SmallOptions());
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 40; ++i) {
      std::string recs = Records(i * 10, 1 + i % 2, 500 + 97 * i);
      auto loc = (*log)->Append(recs);
      ASSERT_TRUE(loc.ok());
      appended.emplace_back(*loc, recs);
    }
    ASSERT_OK((*log)->Sync());
    uint64_t logical = 0;
    for (const auto& [id, size] : (*log)->Segments()) logical += size;
    EXPECT_EQ(memory->stored_bytes(), logical);  // nothing padded
  }
  auto log = SegmentLog::Open(memory, SmallOptions());
  ASSERT_TRUE(log.ok());
  for (const auto& [loc, recs] : appended) {
    std::string got(recs.size(), '\0');
    ASSERT_OK((*log)->ReadRun(loc.segment, loc.offset, got.size(), got.data()));
    ASSERT_EQ(got, recs);
  }
}

// A full backend refuses the append (NoSpace), keeps what it acknowledged, and takes appends
// again once there is room.
TEST(SegmentLogInMemory, FullStoreRefusesAppendsAndRecovers) {
  auto memory = std::make_shared<MemorySegmentStore>(4096, /*capacity=*/1 << 20);
  auto log = SegmentLog::Open(memory, SmallOptions());
  ASSERT_TRUE(log.ok());
  std::vector<std::pair<RecordLocation, std::string>> kept;
  Status full;
  for (int i = 0; i < 1000 && full.ok(); ++i) {
    std::string recs = Records(i, 1, 4000);
    auto loc = (*log)->Append(recs);
    if (loc.ok()) {
      kept.emplace_back(*loc, recs);
    } else {
      full = loc.status();
    }
  }
  ASSERT_TRUE(full.IsNoSpace()) << full.ToString();
  memory->set_capacity(UINT64_MAX);
  ASSERT_OK((*log)->Sync());
  for (const auto& [loc, recs] : kept) {
    std::string got(recs.size(), '\0');
    ASSERT_OK((*log)->ReadRun(loc.segment, loc.offset, got.size(), got.data()));
    ASSERT_EQ(got, recs);
  }
  EXPECT_TRUE((*log)->Append(Records(5000, 1, 4000)).ok());
}

}  // namespace
}  // namespace clonefs::store
