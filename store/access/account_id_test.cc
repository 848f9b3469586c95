// Account ids, store names and the store's check of qualified names.
#include "store/access/account_id.h"

#include <gtest/gtest.h>

#include "store/access/store_names.h"
#include "store/types.h"

namespace clonefs::access {
namespace {

constexpr char kOwner[] = "111111111111";

TEST(AccountId, TwelveDigitsWithLeadingZerosAreValid) {
  EXPECT_TRUE(ValidateAccountId("012345678901").ok());
  EXPECT_TRUE(ValidateAccountId("000000000000").ok());
}

TEST(AccountId, EveryOtherShapeNamesWhatIsWrong) {
  struct Case {
    std::string id;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{{"12345678901", "exactly 12 digits, not 11"},
                                         {"1234567890123", "exactly 12 digits, not 13"},
                                         {"", "exactly 12 digits, not 0"},
                                         {"12345678901a", "0-9 only"},
                                         {"+12345678901", "0-9 only"},
                                         {"-12345678901", "0-9 only"},
                                         {"123456 78901", "0-9 only"},
                                         {" 123456789012", "0-9 only"}}) {
    Status s = ValidateAccountId(c.id);
    EXPECT_EQ(s.ErrorName(), "InvalidParameterValue") << c.id;
    EXPECT_NE(s.message().find(c.says), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("'" + c.id + "'"), std::string::npos) << s.message();
  }
}

TEST(StoreNames, TheOwnersNamesArePlainOthersAreQualified) {
  EXPECT_EQ(StoreName(kOwner, kOwner, "db1"), "db1");
  EXPECT_EQ(StoreName(kOwner, "012345678901", "db1"), "012345678901.db1");
}

TEST(StoreNames, SplitUndoesStoreName) {
  EXPECT_EQ(SplitStoreName(kOwner, "db1"), (OwnedName{kOwner, "db1"}));
  EXPECT_EQ(SplitStoreName(kOwner, "012345678901.db1"), (OwnedName{"012345678901", "db1"}));
  // Not a qualified name: the owner's (the store never makes these, but must not misread them).
  EXPECT_EQ(SplitStoreName(kOwner, "01234567890.db1"), (OwnedName{kOwner, "01234567890.db1"}));
  EXPECT_EQ(SplitStoreName(kOwner, "012345678901."), (OwnedName{kOwner, "012345678901."}));
}

TEST(StoreNames, TheStoreAcceptsQualifiedNamesButTypedNamesStayStrict) {
  EXPECT_TRUE(store::ValidateStoreName("012345678901.db1", "volume").ok());
  EXPECT_TRUE(store::ValidateStoreName("db1", "volume").ok());
  EXPECT_FALSE(store::ValidateStoreName("012345678901.1db", "volume").ok());
  EXPECT_FALSE(store::ValidateStoreName("01234567890.db1", "volume").ok());
  EXPECT_FALSE(store::ValidateStoreName("012345678901.", "volume").ok());
  EXPECT_FALSE(store::ValidateName("012345678901.db1", "volume").ok());
}

}  // namespace
}  // namespace clonefs::access
