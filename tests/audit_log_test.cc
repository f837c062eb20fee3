#include "storage/audit_log.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/alert_outbox.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"
#include "tests/temp_dir.h"

namespace deconfliction {
namespace {

using ::testing::HasSubstr;

storage::v1::AuditRecord Record(const std::string& caller, uint32_t tokens) {
  storage::v1::AuditRecord record;
  record.set_caller(caller);
  record.set_operation("/deconfliction.v1.Hub/Lookup");
  record.set_tokens(tokens);
  return record;
}

TEST(AuditLogTest, ChainSurvivesRestartAndExportsInOrder) {
  TempDir dir;
  {
    auto hub = HubDatabase::Open(dir.path() + "/hub");
    ASSERT_TRUE(hub.ok()) << hub.status();
    ASSERT_TRUE((*hub)->audit().Append(Record("a", 1)).ok());
    ASSERT_TRUE((*hub)->audit().Append(Record("b", 2)).ok());
  }
  {
    auto hub = HubDatabase::Open(dir.path() + "/hub");
    ASSERT_TRUE((*hub)->audit().Append(Record("c", 3)).ok());
  }
  std::vector<std::string> callers;
  auto count = ExportAudit(dir.path() + "/hub",
                           [&](const storage::v1::AuditRecord& record) {
                             callers.push_back(record.caller());
                             EXPECT_EQ(record.seq(), callers.size());
                           });
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 3u);
  EXPECT_EQ(callers, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(AuditLogTest, AlteredOrRemovedRecordBreaksTheChain) {
  TempDir dir;
  {
    auto hub = HubDatabase::Open(dir.path() + "/hub");
    for (uint32_t i = 1; i <= 3; ++i) {
      ASSERT_TRUE((*hub)->audit().Append(Record("x", i)).ok());
    }
  }
  {
    // Rewrite record 2 as if someone edited it.
    auto database = Database::Open(dir.path() + "/hub", HubFamilies());
    ASSERT_TRUE(database.ok());
    rocksdb::ColumnFamilyHandle* audit = *(*database)->Family(families::kAudit);
    storage::v1::AuditRecord edited = Record("x", 99);
    std::string value;
    ASSERT_TRUE(
        (*database)
            ->db()
            ->Get(rocksdb::ReadOptions(), audit, keys::EncodeUint64(2), &value)
            .ok());
    edited.ParseFromString(value);
    edited.set_tokens(99);
    ASSERT_TRUE((*database)
                    ->db()
                    ->Put(rocksdb::WriteOptions(), audit, keys::EncodeUint64(2),
                          edited.SerializeAsString())
                    .ok());
  }
  auto count =
      ExportAudit(dir.path() + "/hub", [](const storage::v1::AuditRecord&) {});
  EXPECT_EQ(count.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(count.status().message()), HasSubstr("#3"));
}

TEST(AuditLogTest, ExportOfADirectoryWithoutDatabaseIsNotFound) {
  TempDir dir;
  EXPECT_EQ(ExportAudit(dir.path(), [](const storage::v1::AuditRecord&) {})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace deconfliction
