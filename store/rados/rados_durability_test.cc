// What a RADOS segment store promises survives the OSD being killed (SIGKILL, then a restart
// on the same BlueStore): every write that returned, so every synced one, reads back, both on
// the connection that wrote it (which reconnects) and on a new one. A killed process, not a
// power cut: BlueStore's own device flushes are not what this tests.
#include <gtest/gtest.h>

#include <chrono>

#include "store/rados/rados_segment_store.h"
#include "store/rados/rados_test_util.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;
using testing::FreshNamespace;
using testing::OpenTestSegments;

TEST(RadosDurability, SyncedWritesSurviveAnOsdKill) {
  SKIP_WITHOUT_RADOS_CLUSTER();
  const std::string ns = FreshNamespace();
  auto store = OpenTestSegments(ns);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  constexpr uint32_t kSegments = 12;
  constexpr size_t kPiece = 100 << 10, kPieces = 5;
  for (uint32_t id = 1; id <= kSegments; ++id) {
    auto seg = (*store)->Create(id);
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    for (size_t p = 0; p < kPieces; ++p) {
      ASSERT_OK((*seg)->WriteAt(p * kPiece, Pattern(id * 100 + p, kPiece)));
    }
    if (id % 3 == 0) ASSERT_OK((*seg)->Truncate(kPiece * kPieces - 1000));
    ASSERT_OK((*seg)->Sync());
  }
  ASSERT_OK((*store)->SyncNames());
  ASSERT_OK((*store)->Delete(kSegments));

  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(testing::RestartOsd());
  std::printf("OSD killed and back in %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  // The new connection reads first: the old one has the OSD's old address and learns the new
  // one only when its op counts as laggy (objecter_timeout, 10 s) and it asks the monitor for a
  // newer map, which makes its first call take about 15 s.
  auto fresh = OpenTestSegments(ns);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  for (const auto& s : {*fresh, *store}) {
    SCOPED_TRACE(s == *store ? "the writing connection" : "a new connection");
    auto ids = s->List();
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    ASSERT_EQ(ids->size(), kSegments - 1);  // the deleted one stays deleted
    for (uint32_t id = 1; id < kSegments; ++id) {
      auto seg = s->Open(id);
      ASSERT_TRUE(seg.ok()) << seg.status().ToString();
      std::string want;
      for (size_t p = 0; p < kPieces; ++p) want += Pattern(id * 100 + p, kPiece);
      if (id % 3 == 0) want.resize(kPiece * kPieces - 1000);
      ASSERT_EQ(*(*seg)->Size(), want.size()) << id;
      std::string got(want.size(), '\0');
      ASSERT_OK((*seg)->ReadAt(0, got.size(), got.data(), /*stable=*/true));
      EXPECT_EQ(got, want) << id;
    }
  }
  // And the restarted OSD takes writes on the old connection.
  auto seg = (*store)->Open(1);
  ASSERT_TRUE(seg.ok());
  EXPECT_OK((*seg)->WriteAt(kPiece * kPieces, "after the restart"));
}

}  // namespace
}  // namespace clonefs::store
