// RocksMetaDb under concurrent writers. RocksDB merges concurrent writes into write groups, one
// thread writing the others' batches; every batch must still land whole and in each writer's
// order. tools/tsan.sh runs this under ThreadSanitizer, for the group commit path.
#include "store/meta/rocks_meta_db.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::TempDir;

std::string Key(char kind, int writer, int batch) {
  return std::string(1, kind) + "/" + std::to_string(writer) + "/" + std::to_string(batch);
}

TEST(RocksMetaDb, ConcurrentWritesLandWholeAndInOrder) {
  TempDir dir;
  auto opened = OpenRocksMetaDb(dir.path() + "/meta", 8 << 20);
  ASSERT_OK(opened.status());
  MetaDb& db = **opened;
  constexpr int kWriters = 4;
  constexpr int kBatches = 300;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&db, w] {
      for (int i = 0; i < kBatches; ++i) {
        // Each batch writes its own "a" and "b" keys and deletes the previous batch's "b":
        // in the end only the last "b" of each writer is left.
        MetaBatch b;
        b.Put(Key('a', w, i), std::string(100 + i, static_cast<char>('0' + w)));
        b.Put(Key('b', w, i), "latest");
        if (i > 0) b.Delete(Key('b', w, i - 1));
        EXPECT_OK(db.Write(b, /*sync=*/i % 16 == 0));  // synced ones hold a group open longer
      }
    });
  }
  for (auto& t : writers) t.join();
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kBatches; ++i) {
      auto a = db.Get(Key('a', w, i));
      ASSERT_OK(a.status());
      ASSERT_TRUE(a->has_value()) << Key('a', w, i);
      EXPECT_EQ(**a, std::string(100 + i, static_cast<char>('0' + w)));
      auto b = db.Get(Key('b', w, i));
      ASSERT_OK(b.status());
      EXPECT_EQ(b->has_value(), i == kBatches - 1) << Key('b', w, i);
    }
  }
}

}  // namespace
}  // namespace clonefs::store
