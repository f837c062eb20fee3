#include "storage/node_migrations.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "api/timestamps.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/alert_log.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {
namespace {

// Alerts rewritten per write.
constexpr int kAlertsPerBatch = 1000;

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
    if (batch.Count() >= kAlertsPerBatch) {
      if (absl::Status s = FromRocks(db->Write(SyncedWrite(), &batch),
                                     "write migrated alerts");
          !s.ok()) {
        return s;
      }
      batch.Clear();
    }
  }
  if (absl::Status s = FromRocks(it->status(), "read alerts"); !s.ok()) {
    return s;
  }
  batch.Put(meta, keys::kSchemaVersion, keys::EncodeUint64(3));
  if (absl::Status s =
          FromRocks(db->Write(SyncedWrite(), &batch), "write schema version 3");
      !s.ok()) {
    return s;
  }
  return absl::StrCat("CHECKED alerts counted: ", counted,
                      "; today's grouped: ", grouped);
}

}  // namespace

absl::Status MigrateNodeDatabase(
    const Database& database, uint64_t version, absl::Time now,
    const std::function<void(uint64_t to, const std::string& what)>& migrated) {
  if (version < kOldestMigratedAtStart) {
    return absl::FailedPreconditionError(
        absl::StrCat("schema ", version, " does not migrate at start"));
  }
  if (version == 2) {
    absl::StatusOr<std::string> did = AggregateCheckedAlerts(database, now);
    if (!did.ok()) return did.status();
    migrated(3, *did);
  }
  return absl::OkStatus();
}

}  // namespace deconfliction
