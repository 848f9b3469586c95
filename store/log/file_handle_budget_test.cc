// FileHandleBudget's clock: past the limit it closes idle holders' handles, spares those used
// since its last look once, and counts what holders give back.
#include "store/log/file_handle_budget.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace clonefs::store {
namespace {

// One handle that a test opens and uses by hand.
class FakeHolder final : public FileHandleBudget::Holder {
 public:
  explicit FakeHolder(FileHandleBudget* budget) : budget_(budget) { budget_->Add(this); }
  ~FakeHolder() override { budget_->Remove(this, open_ ? 1 : 0); }
  void Use() {
    used_ = true;
    if (!open_) {
      open_ = true;
      budget_->Opened();
    }
  }
  size_t CloseIfIdle() override {
    if (used_) {
      used_ = false;
      return 0;
    }
    size_t closed = open_ ? 1 : 0;
    open_ = false;
    return closed;
  }
  bool open() const { return open_; }

 private:
  FileHandleBudget* budget_;
  bool open_ = false;
  bool used_ = false;
};

size_t CountOpen(const std::vector<std::unique_ptr<FakeHolder>>& holders) {
  size_t n = 0;
  for (const auto& h : holders) n += h->open();
  return n;
}

TEST(FileHandleBudget, StaysWithinTheLimitWhileHoldersOpenOneAfterAnother) {
  FileHandleBudget budget(8);
  std::vector<std::unique_ptr<FakeHolder>> holders;
  for (int i = 0; i < 100; ++i) {
    holders.push_back(std::make_unique<FakeHolder>(&budget));
    holders.back()->Use();
    EXPECT_LE(budget.open(), 8u) << "after holder " << i;
    EXPECT_EQ(budget.open(), CountOpen(holders)) << "after holder " << i;
    EXPECT_TRUE(holders.back()->open()) << "the newest handle is in use and stays open";
  }
}

TEST(FileHandleBudget, HandlesUsedSinceTheLastSweepSurviveIt) {
  FileHandleBudget budget(8);
  std::vector<std::unique_ptr<FakeHolder>> holders;
  for (int i = 0; i < 8; ++i) {
    holders.push_back(std::make_unique<FakeHolder>(&budget));
    holders.back()->Use();
  }
  // A ninth makes the first sweep; every mark was set, so it takes two turns and may close
  // any. From then on two stay busy, the others go idle, and newcomers push the budget over
  // again and again: the busy ones are marked each time the clock comes by.
  holders.push_back(std::make_unique<FakeHolder>(&budget));
  holders.back()->Use();
  for (int round = 0; round < 30; ++round) {
    holders[0]->Use();
    holders[3]->Use();
    holders.push_back(std::make_unique<FakeHolder>(&budget));
    holders.back()->Use();
    EXPECT_TRUE(holders[0]->open()) << "round " << round;
    EXPECT_TRUE(holders[3]->open()) << "round " << round;
    EXPECT_LE(budget.open(), 8u);
  }
  EXPECT_EQ(budget.open(), CountOpen(holders));
}

TEST(FileHandleBudget, RemovedHoldersGiveTheirHandlesBackAndAreNotCalledAgain) {
  FileHandleBudget budget(4);
  std::vector<std::unique_ptr<FakeHolder>> holders;
  for (int i = 0; i < 4; ++i) {
    holders.push_back(std::make_unique<FakeHolder>(&budget));
    holders.back()->Use();
  }
  EXPECT_EQ(budget.open(), 4u);
  holders.erase(holders.begin(), holders.begin() + 3);  // destroyed: they must not be swept
  EXPECT_EQ(budget.open(), 1u);
  for (int i = 0; i < 10; ++i) {
    holders.push_back(std::make_unique<FakeHolder>(&budget));
    holders.back()->Use();
  }
  EXPECT_LE(budget.open(), 4u);
  EXPECT_EQ(budget.open(), CountOpen(holders));
}

}  // namespace
}  // namespace clonefs::store
