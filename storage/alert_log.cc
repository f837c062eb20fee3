#include "storage/alert_log.h"

#include <limits>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "api/timestamps.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {

absl::StatusOr<std::unique_ptr<AlertLog>> AlertLog::Open(
    const Database& database, Clock clock) {
  absl::StatusOr<std::vector<rocksdb::ColumnFamilyHandle*>> handles =
      database.Families({families::kMeta, families::kAlerts});
  if (!handles.ok()) return handles.status();
  // The counters start at 1 and 0 on a database that has had no alert.
  absl::StatusOr<uint64_t> next_cursor =
      database.ReadCounter((*handles)[0], keys::kNextAlertCursor, 1);
  if (!next_cursor.ok()) return next_cursor.status();
  absl::StatusOr<uint64_t> unacknowledged =
      database.ReadCounter((*handles)[0], keys::kUnacknowledgedAlerts, 0);
  if (!unacknowledged.ok()) return unacknowledged.status();
  return std::unique_ptr<AlertLog>(new AlertLog(database.db(), (*handles)[0],
                                                (*handles)[1], std::move(clock),
                                                *next_cursor, *unacknowledged));
}

AlertLog::AlertLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
                   rocksdb::ColumnFamilyHandle* alerts, Clock clock,
                   uint64_t next_cursor, uint64_t unacknowledged)
    : db_(db),
      meta_(meta),
      alerts_(alerts),
      clock_(std::move(clock)),
      next_cursor_(next_cursor),
      unacknowledged_(unacknowledged) {}

absl::StatusOr<StoredAlerts> AlertLog::Store(std::vector<v1::Alert> alerts) {
  absl::MutexLock lock(&mu_);
  StoredAlerts outcome;
  rocksdb::WriteBatch batch;
  uint64_t cursor = next_cursor_;
  std::set<std::string> in_batch;
  for (v1::Alert& alert : alerts) {
    std::string held;
    rocksdb::Status read = db_->Get(rocksdb::ReadOptions(), alerts_,
                                    keys::AlertIdKey(alert.alert_id()), &held);
    if (!read.IsNotFound() || !in_batch.insert(alert.alert_id()).second) {
      if (absl::Status s = FromRocks(read, "read alert id");
          !s.ok() && !read.IsNotFound()) {
        return s;
      }
      ++outcome.duplicates;
      continue;
    }
    alert.set_cursor(cursor);
    batch.Put(alerts_, keys::AlertIdKey(alert.alert_id()),
              keys::EncodeUint64(cursor));
    batch.Put(alerts_, keys::AlertKey(cursor), alert.SerializeAsString());
    ++cursor;
    ++outcome.stored;
  }
  if (outcome.stored == 0) return outcome;
  batch.Put(meta_, keys::kNextAlertCursor, keys::EncodeUint64(cursor));
  batch.Put(meta_, keys::kUnacknowledgedAlerts,
            keys::EncodeUint64(unacknowledged_ + outcome.stored));
  if (absl::Status s = FromRocks(db_->Write(SyncedWrite(), &batch), "write");
      !s.ok()) {
    return s;
  }
  next_cursor_ = cursor;
  unacknowledged_ += outcome.stored;
  return outcome;
}

absl::StatusOr<std::vector<v1::Alert>> AlertLog::After(uint64_t after,
                                                       size_t limit) const {
  std::vector<v1::Alert> alerts;
  // No cursor follows the largest (after + 1 would wrap to the first).
  if (after == std::numeric_limits<uint64_t>::max()) return alerts;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), alerts_));
  for (it->Seek(keys::AlertKey(after + 1));
       it->Valid() && alerts.size() < limit; it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (!keys::DecodeAlertKey(key)) break;  // past the 'c' range
    v1::Alert alert;
    if (!alert.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size()))) {
      return absl::DataLossError("alert record is corrupt");
    }
    alerts.push_back(std::move(alert));
  }
  if (absl::Status s = FromRocks(it->status(), "read alerts"); !s.ok()) {
    return s;
  }
  return alerts;
}

absl::StatusOr<AcknowledgedAlerts> AlertLog::Acknowledge(
    const std::vector<std::string>& alert_ids) {
  absl::MutexLock lock(&mu_);
  AcknowledgedAlerts outcome;
  rocksdb::WriteBatch batch;
  std::set<std::string> seen;
  for (const std::string& id : alert_ids) {
    if (!seen.insert(id).second) continue;
    std::string cursor;
    rocksdb::Status read = db_->Get(rocksdb::ReadOptions(), alerts_,
                                    keys::AlertIdKey(id), &cursor);
    if (read.IsNotFound()) {
      outcome.unknown_ids.push_back(id);
      continue;
    }
    if (absl::Status s = FromRocks(read, "read alert id"); !s.ok()) return s;
    std::optional<uint64_t> position = keys::DecodeUint64(cursor);
    std::string value;
    if (!position || !db_->Get(rocksdb::ReadOptions(), alerts_,
                               keys::AlertKey(*position), &value)
                          .ok()) {
      return absl::DataLossError("alert index names a missing alert");
    }
    v1::Alert alert;
    if (!alert.ParseFromString(value)) {
      return absl::DataLossError("alert record is corrupt");
    }
    if (alert.has_acknowledged_at()) continue;
    *alert.mutable_acknowledged_at() = ToTimestamp(clock_());
    batch.Put(alerts_, keys::AlertKey(*position), alert.SerializeAsString());
    ++outcome.acknowledged;
  }
  if (outcome.acknowledged == 0) return outcome;
  const uint64_t remaining = unacknowledged_ - outcome.acknowledged;
  batch.Put(meta_, keys::kUnacknowledgedAlerts, keys::EncodeUint64(remaining));
  if (absl::Status s = FromRocks(db_->Write(SyncedWrite(), &batch), "write");
      !s.ok()) {
    return s;
  }
  unacknowledged_ = remaining;
  return outcome;
}

AlertInbox AlertLog::Inbox() const {
  absl::MutexLock lock(&mu_);
  return AlertInbox{next_cursor_ - 1, unacknowledged_};
}

}  // namespace deconfliction
