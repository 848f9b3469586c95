// Map blocks: the checkpointed form of the page map. What a reader sees must not depend on
// which pages share a block, which epochs a block holds, or how many checkpoints merged it.
#include "store/map/page_map.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "store/meta/memory_meta_db.h"
#include "store/meta/rocks_meta_db.h"

namespace clonefs::store {
namespace {

MapValue Val(uint64_t seq, bool tombstone = false) {
  return MapValue{seq, RecordLocation{1, static_cast<uint32_t>(seq * 100), 4176}, tombstone};
}

// Every test runs over both MetaDbs: RocksDB, and the in-memory one that tests use.
class PageMapTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/clonefs-pagemap-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    if (GetParam() == "memory") {
      db_ = std::make_unique<MemoryMetaDb>();
    } else {
      auto db = OpenRocksMetaDb(dir_, 64 << 20);
      ASSERT_TRUE(db.ok()) << db.status().ToString();
      db_ = std::move(db).value();
    }
    map_ = std::make_unique<PageMap>(db_.get());
  }
  void TearDown() override {
    map_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Stores `changes` the way a checkpoint does.
  void Store(const std::vector<PageMap::Change>& changes) {
    MetaBatch batch;
    ASSERT_TRUE(map_->StoreChanges(changes, &batch).ok());
    ASSERT_TRUE(db_->Write(batch, /*sync=*/false).ok());
    map_->DropFrozen();  // as a checkpoint ends: readers' iterators must see the new blocks
  }

  // page -> seq of the version `view` reads, over [first, end).
  std::map<uint64_t, uint64_t> Visible(const ReadView& view, uint64_t first, uint64_t end) {
    std::map<uint64_t, uint64_t> got;
    Status s = map_->VisitRange(view, first, end, [&](uint64_t page, const PageVersion& v) {
      EXPECT_FALSE(got.count(page)) << "page " << page << " visited twice";
      got[page] = v.value.seq;
      return Status::OK();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return got;
  }

  size_t StoredKeys() {
    size_t n = 0;
    auto it = db_->NewIterator();
    for (it->Seek("m"); it->Valid() && it->key()[0] == 'm'; it->Next()) ++n;
    return n;
  }

  std::string dir_;
  std::unique_ptr<MetaDb> db_;
  std::unique_ptr<PageMap> map_;
};

TEST(MapBlock, EncodesOnlyPresentSlotsAndRejectsBadLengths) {
  MapBlock b;
  b.Set(0, Val(7));
  b.Set(15, Val(9, /*tombstone=*/true));
  const std::string enc = EncodeMapBlock(b);
  EXPECT_EQ(enc.size(), 2u + 2 * 21);
  MapBlock d;
  ASSERT_TRUE(DecodeMapBlock(enc, &d));
  EXPECT_EQ(d.present, b.present);
  EXPECT_EQ(d.Get(0), Val(7));
  EXPECT_EQ(d.Get(15), Val(9, true));
  EXPECT_FALSE(d.Get(1).has_value());
  EXPECT_FALSE(DecodeMapBlock(enc.substr(0, enc.size() - 1), &d));
  EXPECT_FALSE(DecodeMapBlock(enc + "x", &d));
  EXPECT_FALSE(DecodeMapBlock("", &d));
}

TEST_P(PageMapTest, CheckpointsMergeIntoStoredBlocks) {
  const uint64_t lineage = 1, vol = 1, epoch = 3;
  Store({{MapKey{lineage, 1, epoch, vol}, Val(1)}, {MapKey{lineage, 3, epoch, vol}, Val(2)}});
  // A later checkpoint: page 3 deleted, 5 added, 1 untouched; the last change of 5 wins.
  Store({{MapKey{lineage, 3, epoch, vol}, std::nullopt},
         {MapKey{lineage, 5, epoch, vol}, Val(3)},
         {MapKey{lineage, 5, epoch, vol}, Val(4)}});
  ReadView view{lineage, {{vol, epoch}}};
  EXPECT_EQ(Visible(view, 0, 16), (std::map<uint64_t, uint64_t>{{1, 1}, {5, 4}}));
  EXPECT_EQ(map_->GetExact(MapKey{lineage, 5, epoch, vol}).value(), Val(4));
  EXPECT_FALSE(map_->GetExact(MapKey{lineage, 3, epoch, vol}).value().has_value());
  EXPECT_EQ(StoredKeys(), 1u);  // all in one block
  // Emptying the block removes its key.
  Store({{MapKey{lineage, 1, epoch, vol}, std::nullopt},
         {MapKey{lineage, 5, epoch, vol}, std::nullopt}});
  EXPECT_EQ(StoredKeys(), 0u);
  EXPECT_TRUE(Visible(view, 0, 16).empty());
}

TEST_P(PageMapTest, EachPageReadsTheNewestVersionItsViewSeesAcrossBlocks) {
  const uint64_t lineage = 1, parent = 1, clone = 2;
  std::vector<PageMap::Change> parent_pages;
  for (uint64_t p = 10; p < 40; ++p)
    parent_pages.push_back({MapKey{lineage, p, 5, parent}, Val(p)});
  Store(parent_pages);
  // The parent rewrites page 20 after the clone was made (epoch 8); the clone, made at epoch
  // 6, writes pages 17 and 33 and zeroes 21 (a tombstone).
  Store({{MapKey{lineage, 20, 8, parent}, Val(1000)},
         {MapKey{lineage, 17, 7, clone}, Val(2017)},
         {MapKey{lineage, 21, 7, clone}, Val(2021, true)},
         {MapKey{lineage, 33, 7, clone}, Val(2033)}});
  ReadView clone_view{lineage, {{clone, UINT64_MAX}, {parent, 6}}};
  auto seen = Visible(clone_view, 12, 36);  // starts and ends inside a block
  ASSERT_EQ(seen.size(), 24u);
  for (uint64_t p = 12; p < 36; ++p) {
    const uint64_t want = p == 17 ? 2017 : p == 21 ? 2021 : p == 33 ? 2033 : p;
    EXPECT_EQ(seen[p], want) << "page " << p;
  }
  ReadView parent_view{lineage, {{parent, UINT64_MAX}}};
  auto parent_seen = Visible(parent_view, 0, 64);
  EXPECT_EQ(parent_seen.size(), 30u);
  EXPECT_EQ(parent_seen[20], 1000u);
  EXPECT_EQ(parent_seen[17], 17u);
  // Page-by-page enumeration sees every stored entry once.
  size_t n = 0;
  ASSERT_TRUE(map_->ForEachStored(lineage, [&](const MapKey&, const MapValue&) { ++n; }).ok());
  EXPECT_EQ(n, 30u + 4u);
}

TEST_P(PageMapTest, PutManyReportsWhatStoredBlocksHeld) {
  const uint64_t lineage = 4, vol = 4, epoch = 2;
  std::vector<PageMap::Change> stored;
  for (uint64_t p = 0; p < 64; p += 3)
    stored.push_back({MapKey{lineage, p, epoch, vol}, Val(p + 1)});
  Store(stored);
  std::vector<PageMap::Entry> writes;
  for (uint64_t p = 0; p < 64; ++p)
    writes.push_back({MapKey{lineage, p, epoch, vol}, Val(500 + p)});
  std::vector<std::optional<MapValue>> replaced;
  ASSERT_TRUE(map_->PutMany(writes, &replaced).ok());
  for (uint64_t p = 0; p < 64; ++p) {
    if (p % 3 == 0) {
      EXPECT_EQ(replaced[p], Val(p + 1)) << "page " << p;
    } else {
      EXPECT_FALSE(replaced[p].has_value()) << "page " << p;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(MetaDbs, PageMapTest, ::testing::Values("rocksdb", "memory"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace clonefs::store
