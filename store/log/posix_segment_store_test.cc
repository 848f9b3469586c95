// PosixSegmentStore keeps about max_open_files descriptors open however many segments it has,
// and a segment whose handles were closed reads and writes as before.
#include "store/log/posix_segment_store.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "store/log/aligned_buffer.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using testing::DescriptorsUnder;
using testing::Pattern;
using testing::TempDir;

// One block of bytes that tell segment `id` and block `block` apart.
std::string Block(uint32_t id, int block) { return Pattern(id * 1000 + block, kDirectIoAlignment); }

Status WriteBlock(Segment& segment, uint32_t id, int block) {
  AlignedBuffer buf;
  buf.Reserve(kDirectIoAlignment);
  std::string data = Block(id, block);
  std::memcpy(buf.data(), data.data(), data.size());
  return segment.WriteAt(block * kDirectIoAlignment, std::string_view(buf.data(), data.size()));
}

TEST(PosixSegmentStore, ManySegmentsKeepFewDescriptorsAndReadBackAfterReopening) {
  TempDir dir;
  const std::string segdir = dir.path() + "/segments";
  auto store = PosixSegmentStore::Open(Env::Default(), segdir, /*max_open_files=*/4);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::vector<std::shared_ptr<Segment>> segments;
  for (uint32_t id = 1; id <= 40; ++id) {
    auto seg = (*store)->Create(id);
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    ASSERT_TRUE(WriteBlock(**seg, id, 0).ok());
    ASSERT_TRUE((*seg)->Sync().ok());
    segments.push_back(*seg);
    EXPECT_LE((*store)->open_files(), 4u) << "after segment " << id;
    EXPECT_LE(DescriptorsUnder(segdir), 4u) << "after segment " << id;
  }
  // Every segment again, in two passes, through both handles: each reopens what it needs.
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t id = 1; id <= 40; ++id) {
      Segment& seg = *segments[id - 1];
      ASSERT_TRUE(WriteBlock(seg, id, 1 + pass).ok()) << "segment " << id;
      for (int block = 0; block <= 1 + pass; ++block) {
        for (bool stable : {false, true}) {
          std::string got(kDirectIoAlignment, '\0');
          ASSERT_TRUE(seg.ReadAt(block * kDirectIoAlignment, got.size(), got.data(), stable).ok());
          EXPECT_EQ(got, Block(id, block)) << "segment " << id << " block " << block;
        }
      }
      auto size = seg.Size();
      ASSERT_TRUE(size.ok());
      EXPECT_EQ(*size, (2 + pass) * kDirectIoAlignment);
      EXPECT_LE(DescriptorsUnder(segdir), 4u) << "pass " << pass << " segment " << id;
    }
  }
  EXPECT_GT((*store)->open_files(), 0u);
  segments.clear();
  EXPECT_EQ((*store)->open_files(), 0u) << "destroyed segments give their handles back";
  EXPECT_EQ(DescriptorsUnder(segdir), 0u);
}

}  // namespace
}  // namespace clonefs::store
