#include "storage/node_migrations.h"

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "api/timestamps.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/alert_log.h"
#include "storage/case_store.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {
namespace {

// Records rewritten per write.
constexpr int kRecordsPerBatch = 1000;

// Writes `batch` synced and clears it.
absl::Status WriteAndClear(rocksdb::DB* db, rocksdb::WriteBatch* batch,
                           const std::string& what) {
  absl::Status s = FromRocks(db->Write(SyncedWrite(), batch), what);
  batch->Clear();
  return s;
}

// 2 → 3 (see the header). Returns what it did.
absl::StatusOr<std::string> AggregateCheckedAlerts(const Database& database,
                                                   absl::Time now) {
  absl::StatusOr<std::vector<rocksdb::ColumnFamilyHandle*>> handles =
      database.Families({families::kMeta, families::kAlerts});
  if (!handles.ok()) return handles.status();
  rocksdb::ColumnFamilyHandle* meta = (*handles)[0];
  rocksdb::ColumnFamilyHandle* alerts = (*handles)[1];
  rocksdb::DB* db = database.db();
  const std::string today =
      absl::FormatTime("%Y-%m-%d", now, absl::UTCTimeZone());
  uint64_t counted = 0;
  uint64_t grouped = 0;
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), alerts));
  for (it->Seek(keys::kAlertPrefix); it->Valid(); it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (!keys::DecodeAlertKey(key)) break;  // past the 'c' range
    v1::Alert alert;
    if (!alert.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("alert ", *keys::DecodeAlertKey(key), " is corrupt"));
    }
    if (alert.kind() != v1::ALERT_KIND_CHECKED) continue;
    if (alert.checked_count() == 0) {
      alert.set_checked_count(1);
      batch.Put(alerts, it->key(), alert.SerializeAsString());
      ++counted;
    }
    const std::string group = CheckedAlertGroup(alert);
    if (!group.empty() && !alert.has_acknowledged_at() &&
        absl::FormatTime("%Y-%m-%d", FromTimestamp(alert.raised_at()),
                         absl::UTCTimeZone()) == today) {
      batch.Put(alerts, group, keys::EncodeUint64(alert.cursor()));
      ++grouped;
    }
    if (batch.Count() >= kRecordsPerBatch) {
      if (absl::Status s = WriteAndClear(db, &batch, "write migrated alerts");
          !s.ok()) {
        return s;
      }
    }
  }
  if (absl::Status s = FromRocks(it->status(), "read alerts"); !s.ok()) {
    return s;
  }
  batch.Put(meta, keys::kSchemaVersion, keys::EncodeUint64(3));
  if (absl::Status s = WriteAndClear(db, &batch, "write schema version 3");
      !s.ok()) {
    return s;
  }
  return absl::StrCat("CHECKED alerts counted: ", counted,
                      "; today's grouped: ", grouped);
}

// 3 → 4 (see the header). Returns what it did.
absl::StatusOr<std::string> CopyCaseHeadersToPostings(
    const Database& database) {
  absl::StatusOr<std::vector<rocksdb::ColumnFamilyHandle*>> handles =
      database.Families(
          {families::kMeta, families::kTokenIndex, families::kCases});
  if (!handles.ok()) return handles.status();
  rocksdb::ColumnFamilyHandle* meta = (*handles)[0];
  rocksdb::ColumnFamilyHandle* token_index = (*handles)[1];
  rocksdb::ColumnFamilyHandle* cases = (*handles)[2];
  rocksdb::DB* db = database.db();
  std::map<std::string, v1::Case> headers;  // read once per case
  uint64_t rewritten = 0;
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), token_index));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    storage::v1::PostingList list;
    if (!list.ParseFromArray(it->value().data(),
                             static_cast<int>(it->value().size()))) {
      return absl::DataLossError("token index record is corrupt");
    }
    storage::v1::PostingList kept;
    for (storage::v1::Posting& posting : *list.mutable_postings()) {
      auto header = headers.find(posting.case_ref());
      if (header == headers.end()) {
        std::string value;
        rocksdb::Status read =
            db->Get(rocksdb::ReadOptions(), cases, posting.case_ref(), &value);
        if (!read.IsNotFound()) {
          if (absl::Status s = FromRocks(read, "read case"); !s.ok()) return s;
        }
        v1::Case c;
        if (read.IsNotFound() || !c.ParseFromString(value)) {
          return absl::DataLossError(
              absl::StrCat("token index names a missing or corrupt case: ",
                           posting.case_ref()));
        }
        c.clear_entries();
        header = headers.emplace(posting.case_ref(), std::move(c)).first;
      }
      // A closed case has no postings.
      if (header->second.state() == v1::CASE_STATE_CLOSED) continue;
      CopyCaseHeader(header->second, &posting);
      *kept.add_postings() = std::move(posting);
    }
    if (kept.postings().empty()) {
      batch.Delete(token_index, it->key());
    } else {
      batch.Put(token_index, it->key(), kept.SerializeAsString());
    }
    ++rewritten;
    if (batch.Count() >= kRecordsPerBatch) {
      if (absl::Status s = WriteAndClear(db, &batch, "write migrated postings");
          !s.ok()) {
        return s;
      }
    }
  }
  if (absl::Status s = FromRocks(it->status(), "read token index"); !s.ok()) {
    return s;
  }
  batch.Put(meta, keys::kSchemaVersion, keys::EncodeUint64(4));
  if (absl::Status s = WriteAndClear(db, &batch, "write schema version 4");
      !s.ok()) {
    return s;
  }
  return absl::StrCat("postings given their case's header: ", rewritten,
                      " tokens of ", headers.size(), " cases");
}

}  // namespace

absl::Status MigrateNodeDatabase(
    const Database& database, uint64_t version, absl::Time now,
    const std::function<void(uint64_t to, const std::string& what)>& migrated) {
  if (version < kOldestMigratedAtStart) {
    return absl::FailedPreconditionError(
        absl::StrCat("schema ", version, " does not migrate at start"));
  }
  if (version <= 2) {
    absl::StatusOr<std::string> did = AggregateCheckedAlerts(database, now);
    if (!did.ok()) return did.status();
    migrated(3, *did);
  }
  if (version <= 3) {
    absl::StatusOr<std::string> did = CopyCaseHeadersToPostings(database);
    if (!did.ok()) return did.status();
    migrated(4, *did);
  }
  return absl::OkStatus();
}

}  // namespace deconfliction
