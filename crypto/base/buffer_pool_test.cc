// BufferPool: what is given back is taken again with its memory and size; the pool keeps no
// more buffers, and none larger, than it was built for.
#include "base/buffer_pool.h"

#include <gtest/gtest.h>

namespace clonefs {
namespace {

TEST(BufferPool, AGivenBufferIsTakenAgainWithItsMemory) {
  BufferPool pool(2, 1 << 20);
  EXPECT_TRUE(pool.Take().empty());  // nothing kept yet
  std::string b(4096, 'x');
  const char* memory = b.data();
  pool.Give(std::move(b));
  EXPECT_EQ(pool.kept(), 1u);
  std::string again = pool.Take();
  EXPECT_EQ(again.data(), memory);
  EXPECT_EQ(again.size(), 4096u);  // a resize to this size needs no fill
  EXPECT_EQ(pool.kept(), 0u);
}

TEST(BufferPool, KeepsNoMoreAndNoLargerBuffersThanItWasBuiltFor) {
  BufferPool pool(2, 1 << 20);
  pool.Give(std::string((1 << 20) + 1, 'x'));  // too large
  pool.Give(std::string(100, 'x'));            // too small to matter
  EXPECT_EQ(pool.kept(), 0u);
  for (int i = 0; i < 3; ++i) pool.Give(std::string(8192, 'y'));
  EXPECT_EQ(pool.kept(), 2u);
}

}  // namespace
}  // namespace clonefs
