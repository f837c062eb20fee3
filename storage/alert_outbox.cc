#include "storage/alert_outbox.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "rocksdb/write_batch.h"
#include "storage/audit_log.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {
namespace {

template <typename Record>
absl::StatusOr<std::vector<AlertOutbox::Queued<Record>>> ReadQueue(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
    const std::string& agency, size_t limit) {
  std::vector<AlertOutbox::Queued<Record>> queued;
  const std::string prefix = keys::QueuePrefix(agency);
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), family));
  for (it->Seek(prefix);
       it->Valid() && it->key().starts_with(prefix) && queued.size() < limit;
       it->Next()) {
    AlertOutbox::Queued<Record> item;
    item.key = it->key().ToString();
    if (!item.record.ParseFromArray(it->value().data(),
                                    static_cast<int>(it->value().size()))) {
      return absl::DataLossError("queued record is corrupt");
    }
    queued.push_back(std::move(item));
  }
  if (absl::Status s = FromRocks(it->status(), "read queue"); !s.ok()) {
    return s;
  }
  return queued;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AlertOutbox>> AlertOutbox::Open(
    const Database& database) {
  absl::StatusOr<std::vector<rocksdb::ColumnFamilyHandle*>> handles =
      database.Families({families::kMeta, families::kOutbox,
                         families::kRechecks, families::kSetAside,
                         families::kDelivered});
  if (!handles.ok()) return handles.status();
  absl::StatusOr<uint64_t> next_seq =
      database.ReadCounter((*handles)[0], keys::kNextOutboxSeq, 1);
  if (!next_seq.ok()) return next_seq.status();
  return std::unique_ptr<AlertOutbox>(
      new AlertOutbox(database.db(), (*handles)[0], (*handles)[1],
                      (*handles)[2], (*handles)[3], (*handles)[4], *next_seq));
}

absl::StatusOr<std::unique_ptr<HubDatabase>> HubDatabase::Open(
    const std::string& dir) {
  std::unique_ptr<HubDatabase> hub(new HubDatabase());
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::Open(dir, HubFamilies());
  if (!database.ok()) return database.status();
  hub->database_ = *std::move(database);
  absl::StatusOr<std::unique_ptr<AlertOutbox>> outbox =
      AlertOutbox::Open(*hub->database_);
  if (!outbox.ok()) return outbox.status();
  hub->outbox_ = *std::move(outbox);
  absl::StatusOr<std::unique_ptr<AuditLog>> audit =
      AuditLog::Open(*hub->database_, AuditKeyFile(dir));
  if (!audit.ok()) return audit.status();
  hub->audit_ = *std::move(audit);
  return hub;
}

HubDatabase::~HubDatabase() = default;

uint64_t HubDatabase::IntProperty(const std::string& property) const {
  return database_->IntProperty(property);
}

absl::Status HubDatabase::Probe() const { return database_->Probe(); }

void AlertOutbox::AddAlerts(
    const std::vector<storage::v1::OutboxRecord>& alerts,
    rocksdb::WriteBatch* batch) {
  for (const storage::v1::OutboxRecord& alert : alerts) {
    batch->Put(outbox_, keys::QueueKey(alert.recipient(), batch_seq_++),
               alert.SerializeAsString());
  }
}

absl::Status AlertOutbox::Commit(rocksdb::WriteBatch* batch,
                                 uint64_t next_seq) {
  batch->Put(meta_, keys::kNextOutboxSeq, keys::EncodeUint64(next_seq));
  absl::Status written =
      FromRocks(db_->Write(SyncedWrite(), batch), "write outbox");
  if (written.ok()) next_seq_ = next_seq;
  return written;
}

absl::Status AlertOutbox::Enqueue(
    const std::vector<storage::v1::OutboxRecord>& alerts,
    const std::vector<storage::v1::RecheckRecord>& rechecks) {
  if (alerts.empty() && rechecks.empty()) return absl::OkStatus();
  Enqueued enqueued{&alerts, &rechecks};
  return enqueues_.Commit(&enqueued);
}

absl::Status AlertOutbox::WriteEnqueued(const std::vector<Enqueued*>& group) {
  absl::MutexLock lock(&mu_);
  rocksdb::WriteBatch batch;
  batch_seq_ = next_seq_;
  for (const Enqueued* enqueued : group) {
    AddAlerts(*enqueued->alerts, &batch);
    for (const storage::v1::RecheckRecord& recheck : *enqueued->rechecks) {
      batch.Put(rechecks_, keys::QueueKey(recheck.agency(), batch_seq_++),
                recheck.SerializeAsString());
    }
  }
  return Commit(&batch, batch_seq_);
}

absl::StatusOr<std::vector<AlertOutbox::Queued<storage::v1::OutboxRecord>>>
AlertOutbox::PendingAlerts(const std::string& agency, size_t limit) const {
  return ReadQueue<storage::v1::OutboxRecord>(db_, outbox_, agency, limit);
}

absl::StatusOr<std::vector<AlertOutbox::Queued<storage::v1::RecheckRecord>>>
AlertOutbox::PendingRechecks(const std::string& agency, size_t limit) const {
  return ReadQueue<storage::v1::RecheckRecord>(db_, rechecks_, agency, limit);
}

absl::Status AlertOutbox::MarkDelivered(
    const std::vector<Queued<storage::v1::OutboxRecord>>& alerts,
    const std::vector<uint64_t>& cursors, absl::Time now) {
  const bool keep = cursors.size() == alerts.size();
  rocksdb::WriteBatch batch;
  std::map<std::string, uint64_t> last_cursor;  // per agency, this batch
  for (size_t i = 0; i < alerts.size(); ++i) {
    const Queued<storage::v1::OutboxRecord>& queued = alerts[i];
    batch.Delete(outbox_, queued.key);
    if (!keep || cursors[i] == 0) continue;
    const std::string& agency = queued.record.recipient();
    const std::optional<uint64_t> seq = keys::DecodeUint64(
        absl::string_view(queued.key).substr(queued.key.size() - 8));
    storage::v1::DeliveredRecord delivered;
    *delivered.mutable_alert() = queued.record.alert();
    delivered.set_cursor(cursors[i]);
    *delivered.mutable_delivered_at() = ToTimestamp(now);
    batch.Put(delivered_, keys::DeliveredKey(agency, cursors[i], *seq),
              delivered.SerializeAsString());
    uint64_t& last = last_cursor[agency];
    last = std::max(last, cursors[i]);
  }
  absl::MutexLock lock(&mu_);  // the last-cursor counters
  for (const auto& [agency, cursor] : last_cursor) {
    absl::StatusOr<uint64_t> held = ReadLastCursor(agency);
    if (!held.ok()) return held.status();
    if (cursor > *held) {
      batch.Put(meta_, keys::LastCursorKey(agency), keys::EncodeUint64(cursor));
    }
  }
  return FromRocks(db_->Write(SyncedWrite(), &batch),
                   "record delivered alerts");
}

absl::StatusOr<uint64_t> AlertOutbox::ReadLastCursor(
    const std::string& agency) const {
  std::string value;
  rocksdb::Status read = db_->Get(rocksdb::ReadOptions(), meta_,
                                  keys::LastCursorKey(agency), &value);
  if (read.IsNotFound()) return 0;
  if (absl::Status s = FromRocks(read, "read the last cursor"); !s.ok()) {
    return s;
  }
  std::optional<uint64_t> cursor = keys::DecodeUint64(value);
  if (!cursor) return absl::DataLossError("a last cursor is malformed");
  return *cursor;
}

absl::StatusOr<AlertOutbox::DeliveredPage> AlertOutbox::Delivered(
    const std::string& agency, uint64_t after_cursor,
    const std::string& page_token, size_t limit) const {
  DeliveredPage page;
  absl::StatusOr<uint64_t> last = ReadLastCursor(agency);
  if (!last.ok()) return last.status();
  page.last_cursor = *last;
  const std::string prefix = keys::QueuePrefix(agency);
  std::string start;
  if (!page_token.empty()) {
    if (page_token.size() != 16) {
      return absl::InvalidArgumentError(
          "page_token: not one this hub gave (16 bytes expected)");
    }
    // Just after the last key of the previous page.
    start = absl::StrCat(prefix, page_token, absl::string_view("\0", 1));
  } else if (after_cursor == std::numeric_limits<uint64_t>::max()) {
    return page;
  } else {
    start = keys::QueueKey(agency, after_cursor + 1);
  }
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), delivered_));
  std::string last_key;
  for (it->Seek(start); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    if (page.alerts.size() == limit) {
      // More follow: the token is the cursor and seq of the page's last.
      page.next_page_token = last_key.substr(prefix.size());
      break;
    }
    last_key = it->key().ToString();
    storage::v1::DeliveredRecord record;
    if (!record.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError("delivered record is corrupt");
    }
    page.alerts.push_back(std::move(record));
  }
  if (absl::Status s = FromRocks(it->status(), "read delivered alerts");
      !s.ok()) {
    return s;
  }
  return page;
}

absl::StatusOr<uint64_t> AlertOutbox::ForgetDeliveredBefore(absl::Time cutoff) {
  rocksdb::WriteBatch batch;
  uint64_t forgotten = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), delivered_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    storage::v1::DeliveredRecord record;
    if (record.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size())) &&
        FromTimestamp(record.delivered_at()) >= cutoff) {
      continue;
    }
    batch.Delete(delivered_, it->key());
    ++forgotten;
  }
  if (absl::Status s = FromRocks(it->status(), "read delivered alerts");
      !s.ok()) {
    return s;
  }
  if (forgotten == 0) return forgotten;
  if (absl::Status s = FromRocks(db_->Write(SyncedWrite(), &batch),
                                 "forget delivered alerts");
      !s.ok()) {
    return s;
  }
  return forgotten;
}

absl::Status AlertOutbox::CompleteRecheck(
    const std::string& key,
    const std::vector<storage::v1::OutboxRecord>& alerts) {
  absl::MutexLock lock(&mu_);
  rocksdb::WriteBatch batch;
  batch_seq_ = next_seq_;
  batch.Delete(rechecks_, key);
  AddAlerts(alerts, &batch);
  return Commit(&batch, batch_seq_);
}

absl::StatusOr<AlertOutbox::Backlog> AlertOutbox::BacklogFor(
    const std::string& agency) const {
  Backlog backlog;
  absl::StatusOr<std::vector<Queued<storage::v1::OutboxRecord>>> alerts =
      PendingAlerts(agency, SIZE_MAX);
  if (!alerts.ok()) return alerts.status();
  backlog.alerts = alerts->size();
  for (const auto& alert : *alerts) {
    backlog.oldest_alert = std::min(
        backlog.oldest_alert, FromTimestamp(alert.record.alert().raised_at()));
  }
  absl::StatusOr<std::vector<Queued<storage::v1::RecheckRecord>>> rechecks =
      PendingRechecks(agency, SIZE_MAX);
  if (!rechecks.ok()) return rechecks.status();
  backlog.rechecks = rechecks->size();
  absl::StatusOr<std::vector<Queued<storage::v1::OutboxRecord>>> set_aside =
      ReadQueue<storage::v1::OutboxRecord>(db_, set_aside_, agency, SIZE_MAX);
  if (!set_aside.ok()) return set_aside.status();
  backlog.set_aside = set_aside->size();
  return backlog;
}

absl::Status AlertOutbox::SetAside(const std::string& key,
                                   const std::string& reason, absl::Time now) {
  absl::MutexLock lock(&mu_);
  std::string value;
  rocksdb::Status read = db_->Get(rocksdb::ReadOptions(), outbox_, key, &value);
  if (read.IsNotFound()) {
    return absl::NotFoundError("the alert is no longer pending");
  }
  if (absl::Status s = FromRocks(read, "read outbox"); !s.ok()) return s;
  storage::v1::OutboxRecord record;
  if (!record.ParseFromString(value)) {
    return absl::DataLossError("queued record is corrupt");
  }
  record.set_set_aside_reason(reason);
  *record.mutable_set_aside_at() = ToTimestamp(now);
  rocksdb::WriteBatch batch;
  batch.Delete(outbox_, key);
  batch.Put(set_aside_, key, record.SerializeAsString());
  return FromRocks(db_->Write(SyncedWrite(), &batch), "set an alert aside");
}

absl::StatusOr<std::map<std::string, AlertOutbox::Backlog>> ReadBacklog(
    const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::OpenReadOnly(dir);
  if (!database.ok()) return database.status();
  std::map<std::string, AlertOutbox::Backlog> backlog;
  for (const char* name :
       {families::kOutbox, families::kRechecks, families::kSetAside}) {
    absl::StatusOr<rocksdb::ColumnFamilyHandle*> family =
        (*database)->Family(name);
    // A database last opened before alerts could be set aside has none.
    if (!family.ok() && name == families::kSetAside) continue;
    if (!family.ok()) {
      return absl::NotFoundError(absl::StrCat(dir, " is not a hub database"));
    }
    std::unique_ptr<rocksdb::Iterator> it(
        (*database)->db()->NewIterator(rocksdb::ReadOptions(), *family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key = it->key().ToString();
      AlertOutbox::Backlog& agency = backlog[key.substr(0, key.find('\0'))];
      if (name == families::kRechecks) {
        ++agency.rechecks;
        continue;
      }
      if (name == families::kSetAside) {
        ++agency.set_aside;
        continue;
      }
      ++agency.alerts;
      storage::v1::OutboxRecord record;
      if (record.ParseFromArray(it->value().data(),
                                static_cast<int>(it->value().size()))) {
        agency.oldest_alert = std::min(
            agency.oldest_alert, FromTimestamp(record.alert().raised_at()));
      }
    }
    if (absl::Status s = FromRocks(it->status(), "read backlog"); !s.ok()) {
      return s;
    }
  }
  return backlog;
}

}  // namespace deconfliction
