#include "storage/alert_log.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
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

std::string CheckedAlertGroup(const v1::Alert& alert) {
  if (alert.kind() != v1::ALERT_KIND_CHECKED || alert.own_entries().empty()) {
    return "";
  }
  return keys::AlertGroupKey(
      absl::FormatTime("%Y-%m-%d", FromTimestamp(alert.raised_at()),
                       absl::UTCTimeZone()),
      alert.other_agency_id(), alert.own_entries(0).case_ref());
}

namespace {

// Adds `joining`'s count and own entries (those not listed yet, up to
// kMaxOwnEntriesPerAlert) to the group's `alert`.
void Join(const v1::Alert& joining, v1::Alert* alert) {
  alert->set_checked_count(alert->checked_count() + 1);
  for (const v1::OwnEntry& own : joining.own_entries()) {
    if (alert->own_entries_size() >= kMaxOwnEntriesPerAlert) return;
    bool listed = false;
    for (const v1::OwnEntry& held : alert->own_entries()) {
      listed = listed || (held.case_ref() == own.case_ref() &&
                          held.canonical() == own.canonical());
    }
    if (!listed) *alert->add_own_entries() = own;
  }
}

}  // namespace

absl::StatusOr<std::optional<v1::Alert>> AlertLog::AlertAt(
    uint64_t cursor, const std::map<uint64_t, v1::Alert>& written) const {
  if (auto it = written.find(cursor); it != written.end()) return it->second;
  std::string value;
  rocksdb::Status read =
      db_->Get(rocksdb::ReadOptions(), alerts_, keys::AlertKey(cursor), &value);
  if (read.IsNotFound()) return std::nullopt;
  if (absl::Status s = FromRocks(read, "read alert"); !s.ok()) return s;
  v1::Alert alert;
  if (!alert.ParseFromString(value)) {
    return absl::DataLossError("alert record is corrupt");
  }
  return alert;
}

absl::StatusOr<std::optional<uint64_t>> AlertLog::CursorUnder(
    const std::string& key,
    const std::map<std::string, uint64_t>& batch) const {
  if (auto it = batch.find(key); it != batch.end()) return it->second;
  std::string value;
  rocksdb::Status read = db_->Get(rocksdb::ReadOptions(), alerts_, key, &value);
  if (read.IsNotFound()) return std::nullopt;
  if (absl::Status s = FromRocks(read, "read alert index"); !s.ok()) return s;
  std::optional<uint64_t> cursor = keys::DecodeUint64(value);
  if (!cursor) return absl::DataLossError("alert index entry is malformed");
  return cursor;
}

absl::StatusOr<StoredAlerts> AlertLog::Store(
    std::vector<IncomingAlert> incoming) {
  absl::MutexLock lock(&mu_);
  StoredAlerts outcome;
  outcome.cursors.reserve(incoming.size());
  std::map<uint64_t, v1::Alert> written;    // cursor -> alert, this batch
  std::map<std::string, uint64_t> indexed;  // id or group key -> cursor
  uint64_t next = next_cursor_;
  for (IncomingAlert& in : incoming) {
    v1::Alert& alert = in.alert;
    const std::string id_key = keys::AlertIdKey(alert.alert_id());
    absl::StatusOr<std::optional<uint64_t>> held = CursorUnder(id_key, indexed);
    if (!held.ok()) return held.status();
    if (held->has_value()) {
      ++outcome.duplicates;
      outcome.cursors.push_back(**held);
      continue;
    }
    const std::string group = CheckedAlertGroup(alert);
    // The alert it joins: its recovered cursor's, or its group's.
    std::optional<uint64_t> joined;
    std::optional<uint64_t> free_recovered;
    if (in.cursor != 0) {
      absl::StatusOr<std::optional<v1::Alert>> there =
          AlertAt(in.cursor, written);
      if (!there.ok()) return there.status();
      if (!there->has_value()) {
        free_recovered = in.cursor;
      } else if (!group.empty() && CheckedAlertGroup(**there) == group) {
        joined = in.cursor;
      }
    } else if (!group.empty()) {
      absl::StatusOr<std::optional<uint64_t>> group_cursor =
          CursorUnder(group, indexed);
      if (!group_cursor.ok()) return group_cursor.status();
      if (group_cursor->has_value()) {
        absl::StatusOr<std::optional<v1::Alert>> there =
            AlertAt(**group_cursor, written);
        if (!there.ok()) return there.status();
        if (there->has_value() && !(*there)->has_acknowledged_at()) {
          joined = **group_cursor;
        }
      }
    }
    if (joined) {
      absl::StatusOr<std::optional<v1::Alert>> there =
          AlertAt(*joined, written);
      if (!there.ok()) return there.status();
      v1::Alert merged = std::move(**there);
      Join(alert, &merged);
      written[*joined] = std::move(merged);
      indexed[id_key] = *joined;
      ++outcome.aggregated;
      outcome.cursors.push_back(*joined);
      continue;
    }
    const uint64_t cursor = free_recovered ? *free_recovered : next;
    next = std::max(next, cursor + 1);
    alert.set_cursor(cursor);
    if (!group.empty()) {
      alert.set_checked_count(1);
      indexed[group] = cursor;
    }
    indexed[id_key] = cursor;
    written[cursor] = std::move(alert);
    ++outcome.stored;
    outcome.cursors.push_back(cursor);
  }
  if (written.empty()) return outcome;
  rocksdb::WriteBatch batch;
  // Groups of days before today are of no more use.
  const std::string today =
      absl::FormatTime("%Y-%m-%d", clock_(), absl::UTCTimeZone());
  if (today != groups_pruned_before_) {
    batch.DeleteRange(alerts_, keys::kAlertGroupPrefix,
                      keys::AlertGroupDayStart(today));
  }
  for (const auto& [cursor, alert] : written) {
    batch.Put(alerts_, keys::AlertKey(cursor), alert.SerializeAsString());
  }
  for (const auto& [key, cursor] : indexed) {
    batch.Put(alerts_, key, keys::EncodeUint64(cursor));
  }
  batch.Put(meta_, keys::kNextAlertCursor, keys::EncodeUint64(next));
  batch.Put(meta_, keys::kUnacknowledgedAlerts,
            keys::EncodeUint64(unacknowledged_ + outcome.stored));
  if (absl::Status s = FromRocks(db_->Write(SyncedWrite(), &batch), "write");
      !s.ok()) {
    return s;
  }
  groups_pruned_before_ = today;
  next_cursor_ = next;
  unacknowledged_ += outcome.stored;
  return outcome;
}

absl::Status AlertLog::SkipTo(uint64_t next) {
  absl::MutexLock lock(&mu_);
  if (next <= next_cursor_) return absl::OkStatus();
  absl::Status written =
      FromRocks(db_->Put(SyncedWrite(), meta_, keys::kNextAlertCursor,
                         keys::EncodeUint64(next)),
                "write the next alert cursor");
  if (written.ok()) next_cursor_ = next;
  return written;
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
