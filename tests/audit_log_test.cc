#include "storage/audit_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/digest.h"
#include "base/key_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/alert_outbox.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/group_commit.h"
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

class AuditLogTest : public ::testing::Test {
 protected:
  std::string Dir() const { return dir_.path() + trail_; }

  // Appends records with tokens first..last to the hub trail in Dir().
  void Append(uint32_t first, uint32_t last) {
    auto hub = HubDatabase::Open(Dir());
    ASSERT_TRUE(hub.ok()) << hub.status();
    for (uint32_t i = first; i <= last; ++i) {
      ASSERT_TRUE((*hub)->audit().Append(Record("x", i)).ok());
    }
  }

  // Runs `change` over the raw audit family, as someone with the files
  // but not the key could.
  template <typename Change>
  void Tamper(Change change) {
    auto database = Database::Open(Dir(), HubFamilies());
    ASSERT_TRUE(database.ok()) << database.status();
    change((*database)->db(), *(*database)->Family(families::kAudit));
  }

  std::string Stored(uint64_t seq) {
    std::string value;
    Tamper([&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* audit) {
      EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), audit,
                          keys::EncodeUint64(seq), &value)
                      .ok());
    });
    return value;
  }

  void Put(uint64_t seq, const std::string& value) {
    Tamper([&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* audit) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), audit,
                          keys::EncodeUint64(seq), value)
                      .ok());
    });
  }

  void Delete(uint64_t seq) {
    Tamper([&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* audit) {
      ASSERT_TRUE(
          db->Delete(rocksdb::WriteOptions(), audit, keys::EncodeUint64(seq))
              .ok());
    });
  }

  absl::StatusOr<uint64_t> Export(
      std::vector<storage::v1::AuditRecord>* records = nullptr) {
    return ExportAudit(Dir(), AuditKeyFile(Dir()),
                       [&](const storage::v1::AuditRecord& record) {
                         if (records != nullptr) records->push_back(record);
                       });
  }

  TempDir dir_;
  std::string trail_ = "/hub";
};

TEST_F(AuditLogTest, ChainSurvivesRestartAndExportsInOrder) {
  Append(1, 2);
  Append(3, 3);
  std::vector<storage::v1::AuditRecord> records;
  auto count = Export(&records);
  ASSERT_TRUE(count.ok()) << count.status();
  ASSERT_EQ(*count, 3u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].seq(), i + 1);
    EXPECT_EQ(records[i].tokens(), i + 1);
    EXPECT_EQ(records[i].mac().size(), kAuditMacBytes);
    EXPECT_EQ(records[i].previous_mac(), i == 0 ? "" : records[i - 1].mac());
  }
  // The key was made with the trail, readable by its owner only.
  struct stat info;
  ASSERT_EQ(stat(AuditKeyFile(Dir()).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(info.st_size, static_cast<off_t>(kAuditKeyBytes));
}

TEST_F(AuditLogTest, AnEditedRecordIsCaughtEvenTheNewest) {
  Append(1, 3);
  for (uint64_t seq : {2u, 3u}) {
    const std::string original = Stored(seq);
    // Flip the token count in place, keeping the record's old mac.
    // (The tokens field: tag 6 << 3, then the count.)
    std::string forged = original;
    forged[forged.find(static_cast<char>(6 << 3)) + 1] = 99;
    Put(seq, forged);
    auto count = Export();
    EXPECT_EQ(count.status().code(), absl::StatusCode::kDataLoss) << seq;
    EXPECT_THAT(std::string(count.status().message()),
                HasSubstr(absl::StrCat("#", seq, " was altered")));
    Put(seq, original);
  }
  EXPECT_TRUE(Export().ok());
}

TEST_F(AuditLogTest, ARecordForgedWithoutTheKeyIsCaught) {
  Append(1, 3);
  // Rewritten as an unkeyed record chained by SHA-256 (what anyone can
  // compute), or keyed under another key.
  storage::v1::AuditRecord forged = Record("someone else", 1);
  forged.set_seq(3);
  forged.set_previous_hash(Sha256(Stored(2)));
  Put(3, forged.SerializeAsString());
  EXPECT_EQ(Export().status().code(), absl::StatusCode::kDataLoss);

  forged.clear_previous_hash();
  storage::v1::AuditRecord second;
  ASSERT_TRUE(second.ParseFromString(Stored(2)));
  forged.set_previous_mac(second.mac());
  std::string bytes = forged.SerializeAsString();
  forged.Clear();
  forged.set_mac(HmacSha256(std::string(kAuditKeyBytes, 'k')).Mac(bytes));
  Put(3, bytes + forged.SerializeAsString());
  auto count = Export();
  EXPECT_EQ(count.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(count.status().message()), HasSubstr("#3"));
}

TEST_F(AuditLogTest, ARecordDeletedInTheMiddleBreaksTheChain) {
  Append(1, 4);
  const std::string second = Stored(2);
  Delete(2);
  auto count = Export();
  EXPECT_EQ(count.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(count.status().message()),
              HasSubstr("broken at record #3"));
  // So does removing the first.
  Put(2, second);
  ASSERT_TRUE(Export().ok());
  Delete(1);
  EXPECT_EQ(Export().status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(AuditLogTest, ACutTailVerifiesAloneButNotAgainstItsAnchors) {
  Append(1, 5);
  std::vector<storage::v1::AuditRecord> records;
  ASSERT_TRUE(Export(&records).ok());
  storage::v1::AuditAnchor anchor;
  anchor.set_agency("north");
  anchor.set_seq(4);
  anchor.set_mac(records[3].mac());
  storage::v1::AuditAnchor older = anchor;
  older.set_seq(2);
  older.set_mac(records[1].mac());

  auto check = [&](uint64_t* last_seq) {
    AnchorCheck anchors({older, anchor});
    *last_seq = 0;
    auto count = ExportAudit(Dir(), AuditKeyFile(Dir()),
                             [&](const storage::v1::AuditRecord& record) {
                               anchors.Visit(record);
                               *last_seq = record.seq();
                             });
    EXPECT_TRUE(count.ok()) << count.status();
    return anchors.Finish(*last_seq);
  };
  uint64_t last_seq = 0;
  auto whole = check(&last_seq);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->anchors, 2u);
  EXPECT_EQ(whole->newest_anchored_seq, 4u);
  EXPECT_EQ(whole->unanchored, 1u);

  // Cutting the unanchored record does not show; cutting an anchored one
  // does.
  Delete(5);
  EXPECT_TRUE(check(&last_seq).ok());
  Delete(4);
  auto cut = check(&last_seq);
  EXPECT_EQ(last_seq, 3u);
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(cut.status().message()),
              HasSubstr("anchor for audit record #4 but the trail ends at #3: "
                        "its tail was cut"));
}

TEST_F(AuditLogTest, ATrailRebuiltUnderANewKeyDoesNotMatchItsAnchors) {
  Append(1, 3);
  std::vector<storage::v1::AuditRecord> records;
  ASSERT_TRUE(Export(&records).ok());
  storage::v1::AuditAnchor anchor;
  anchor.set_seq(3);
  anchor.set_mac(records[2].mac());
  // The whole trail and its key replaced by a fresh one of equal length.
  trail_ = "/rebuilt";
  Append(1, 3);
  AnchorCheck anchors({anchor});
  ASSERT_TRUE(Export(&records).ok());
  for (size_t i = 3; i < records.size(); ++i) anchors.Visit(records[i]);
  auto rebuilt = anchors.Finish(3);
  EXPECT_EQ(rebuilt.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(rebuilt.status().message()),
              HasSubstr("#3 is not the one the hub anchored"));
}

TEST_F(AuditLogTest, TheKeyMustBeTheTrailsOwnAndPrivate) {
  Append(1, 2);
  const std::string key_file = AuditKeyFile(Dir());
  ASSERT_EQ(chmod(key_file.c_str(), 0644), 0);
  auto shared = HubDatabase::Open(Dir());
  EXPECT_EQ(shared.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(shared.status().message()), HasSubstr("chmod 600"));
  EXPECT_EQ(Export().status().code(), absl::StatusCode::kFailedPrecondition);

  // Missing: a new key could not continue the chain.
  ASSERT_EQ(unlink(key_file.c_str()), 0);
  auto missing = HubDatabase::Open(Dir());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("missing"));
  EXPECT_EQ(Export().status().code(), absl::StatusCode::kFailedPrecondition);

  // Another key: refused at start, and the trail does not verify under it.
  ASSERT_TRUE(
      WriteKeyFile(key_file, std::string(kAuditKeyBytes, 'k'), 0600).ok());
  auto other = HubDatabase::Open(Dir());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(other.status().message()),
              HasSubstr("not the key the audit trail was written with"));
  EXPECT_EQ(Export().status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(AuditLogTest, ATrailFromBeforeKeysIsSealedByItsFirstKeyedRecord) {
  // Two records as written before the chain was keyed.
  std::string previous;
  for (uint64_t seq = 1; seq <= 2; ++seq) {
    storage::v1::AuditRecord legacy = Record("legacy", seq);
    legacy.set_seq(seq);
    if (seq > 1) legacy.set_previous_hash(Sha256(previous));
    previous = legacy.SerializeAsString();
    Put(seq, previous);
  }
  ASSERT_NE(access(AuditKeyFile(Dir()).c_str(), F_OK), 0);
  Append(3, 4);
  std::vector<storage::v1::AuditRecord> records;
  auto count = Export(&records);
  ASSERT_TRUE(count.ok()) << count.status();
  ASSERT_EQ(*count, 4u);
  EXPECT_TRUE(records[1].mac().empty());
  EXPECT_EQ(records[2].previous_hash(), Sha256(Stored(2)));
  EXPECT_FALSE(records[2].mac().empty());

  // An old record edited (its SHA-256 link recomputed) shows at the first
  // keyed record, which sealed it.
  storage::v1::AuditRecord edited;
  ASSERT_TRUE(edited.ParseFromString(Stored(2)));
  edited.set_caller("someone else");
  Put(2, edited.SerializeAsString());
  auto broken = Export();
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(broken.status().message()), HasSubstr("#3"));
}

TEST_F(AuditLogTest, TheSyncedHeadFollowsTheNewestSyncedRecord) {
  auto hub = HubDatabase::Open(Dir());
  ASSERT_TRUE(hub.ok()) << hub.status();
  EXPECT_EQ((*hub)->audit().SyncedHead().seq, 0u);
  ASSERT_TRUE((*hub)->audit().Append(Record("a", 1)).ok());
  ASSERT_TRUE((*hub)->audit().Append(Record("b", 2)).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while ((*hub)->audit().SyncedHead().seq < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const AuditHead head = (*hub)->audit().SyncedHead();
  hub->reset();
  std::vector<storage::v1::AuditRecord> records;
  ASSERT_TRUE(Export(&records).ok());
  ASSERT_EQ(head.seq, 2u);
  EXPECT_EQ(head.mac, records[1].mac());
}

TEST_F(AuditLogTest, ConcurrentAppendsKeepOneUnbrokenChainInTheirOrder) {
  constexpr uint32_t kThreads = 8, kEach = 200;
  {
    auto hub = HubDatabase::Open(Dir());
    ASSERT_TRUE(hub.ok()) << hub.status();
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (uint32_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (uint32_t i = 0; i < kEach; ++i) {
          EXPECT_TRUE((*hub)->audit().Append(Record("x", t * 1000 + i)).ok());
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  std::vector<storage::v1::AuditRecord> records;
  auto count = Export(&records);  // verifies every mac and link
  ASSERT_TRUE(count.ok()) << count.status();
  ASSERT_EQ(*count, kThreads * kEach);
  // Each thread's records are all there, in the order it appended them.
  std::vector<uint32_t> next(kThreads, 0);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].seq(), i + 1);
    const uint32_t thread = records[i].tokens() / 1000;
    ASSERT_LT(thread, kThreads);
    EXPECT_EQ(records[i].tokens() % 1000, next[thread]++);
  }
  EXPECT_THAT(next, ::testing::Each(kEach));
}

TEST(GroupCommitTest, ItemsThatWaitShareOneWriteAndItsStatus) {
  constexpr int kThreads = 8, kEach = 50;
  absl::Mutex mu;
  std::vector<size_t> groups;
  int written = 0;
  // Each write takes a while, as a synced one does; every third fails.
  GroupCommit<int> commit([&](const std::vector<int*>& group) {
    absl::SleepFor(absl::Milliseconds(1));
    absl::MutexLock lock(&mu);
    groups.push_back(group.size());
    written += static_cast<int>(group.size());
    for (int* item : group) *item = static_cast<int>(groups.size());
    return groups.size() % 3 == 0 ? absl::DataLossError("no")
                                  : absl::OkStatus();
  });
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        int group = 0;  // set to its group's number by the write
        const absl::Status status = commit.Commit(&group);
        EXPECT_GT(group, 0);
        EXPECT_EQ(status.ok(), group % 3 != 0) << group;
        failed += !status.ok();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(written, kThreads * kEach);
  // Eight committers at once: writes were shared.
  EXPECT_LT(groups.size(), static_cast<size_t>(kThreads * kEach));
  size_t in_failed_groups = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    if ((g + 1) % 3 == 0) in_failed_groups += groups[g];
  }
  EXPECT_EQ(static_cast<size_t>(failed.load()), in_failed_groups);
}

TEST(DigestTest, HmacSha256IsRfc4231sAndStaysKeyedAcrossMessages) {
  HmacSha256 mac("Jefe");
  const std::string expected = absl::HexStringToBytes(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(mac.Mac("what do ya want for nothing?"), expected);
  EXPECT_NE(mac.Mac("something else"), expected);
  EXPECT_EQ(mac.Mac("what do ya want for nothing?"), expected);
}

TEST_F(AuditLogTest, ExportOfADirectoryWithoutDatabaseIsNotFound) {
  EXPECT_EQ(ExportAudit(dir_.path(), AuditKeyFile(dir_.path()),
                        [](const storage::v1::AuditRecord&) {})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace deconfliction
