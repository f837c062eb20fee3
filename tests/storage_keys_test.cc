#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "storage/keys.h"

namespace deconfliction::keys {
namespace {

TEST(KeysTest, Uint64RoundTripsAndSortsNumerically) {
  for (uint64_t value : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256},
                         uint64_t{1} << 40, ~uint64_t{0}}) {
    EXPECT_EQ(DecodeUint64(EncodeUint64(value)), value);
  }
  EXPECT_LT(EncodeUint64(255), EncodeUint64(256));
  EXPECT_LT(EncodeUint64(1), EncodeUint64(uint64_t{1} << 40));
  EXPECT_FALSE(DecodeUint64("short").has_value());
}

TEST(KeysTest, EntryKeyRoundTrips) {
  for (const std::string& case_ref :
       {std::string("A"), std::string("OPS-2026-0042"),
        std::string(128, 'x')}) {
    for (uint64_t seq : {uint64_t{0}, uint64_t{7}, ~uint64_t{0}}) {
      std::string key = EntryKey(case_ref, seq);
      std::optional<EntryKeyParts> parts = DecodeEntryKey(key);
      ASSERT_TRUE(parts.has_value());
      EXPECT_EQ(parts->case_ref, case_ref);
      EXPECT_EQ(parts->entry_seq, seq);
      EXPECT_EQ(key.rfind(EntryPrefix(case_ref), 0), 0u);
    }
  }
}

TEST(KeysTest, EntriesOfACaseSortTogetherAndInOrder) {
  // "AB" must not fall inside "A"'s prefix range.
  EXPECT_NE(EntryKey("AB", 1).rfind(EntryPrefix("A"), 0), 0u);
  EXPECT_LT(EntryKey("A", 2), EntryKey("A", 10));
  EXPECT_LT(EntryKey("A", ~uint64_t{0}), EntryKey("AB", 0));
}

TEST(KeysTest, MalformedEntryKeysAreRejected) {
  EXPECT_FALSE(DecodeEntryKey("").has_value());
  EXPECT_FALSE(DecodeEntryKey("abc").has_value());
  EXPECT_FALSE(
      DecodeEntryKey(std::string("\0", 1) + EncodeUint64(1)).has_value());
  EXPECT_FALSE(DecodeEntryKey("a b" + EntryKey("", 1).substr(0)).has_value());
  EXPECT_FALSE(DecodeEntryKey("A" + EncodeUint64(1)).has_value());
}

TEST(KeysTest, AlertKeysRoundTripAndSortByCursor) {
  for (uint64_t cursor : {uint64_t{1}, uint64_t{255}, uint64_t{1} << 33}) {
    EXPECT_EQ(DecodeAlertKey(AlertKey(cursor)), cursor);
  }
  EXPECT_LT(AlertKey(9), AlertKey(10));
  EXPECT_FALSE(DecodeAlertKey(AlertIdKey("abcdefgh")).has_value());
  EXPECT_NE(AlertIdKey("x")[0], AlertKey(1)[0]);
}

TEST(KeysTest, QueueKeysOfOneAgencySortTogether) {
  EXPECT_EQ(QueueKey("north", 3).rfind(QueuePrefix("north"), 0), 0u);
  EXPECT_NE(QueueKey("northwest", 1).rfind(QueuePrefix("north"), 0), 0u);
  EXPECT_LT(QueueKey("north", 9), QueueKey("north", 10));
}

TEST(KeysTest, CaseRefRules) {
  EXPECT_TRUE(ValidateCaseRef("OPS-2026/0042").ok());
  EXPECT_FALSE(ValidateCaseRef("").ok());
  EXPECT_FALSE(ValidateCaseRef("has space").ok());
  EXPECT_FALSE(ValidateCaseRef(std::string("nul\0", 4)).ok());
  EXPECT_FALSE(ValidateCaseRef(std::string(129, 'x')).ok());
  EXPECT_NE(ValidateCaseRef("").message().find("case_ref"), std::string::npos);
}

}  // namespace
}  // namespace deconfliction::keys
