#include "storage/hub_store.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "rocksdb/write_batch.h"
#include "storage/audit_log.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {
namespace {

enum HubFamily : size_t {
  kHubMeta = 0,
  kHubAudit = 1,
  kHubOutbox = 2,
  kHubRechecks = 3
};

template <typename Record>
absl::StatusOr<std::vector<HubStore::Queued<Record>>> ReadQueue(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
    const std::string& agency, size_t limit) {
  std::vector<HubStore::Queued<Record>> queued;
  const std::string prefix = keys::QueuePrefix(agency);
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), family));
  for (it->Seek(prefix);
       it->Valid() && it->key().starts_with(prefix) && queued.size() < limit;
       it->Next()) {
    HubStore::Queued<Record> item;
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

absl::StatusOr<std::unique_ptr<HubStore>> HubStore::Open(
    const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::Open(dir, {{"default", rocksdb::ColumnFamilyOptions()},
                           {"audit", rocksdb::ColumnFamilyOptions()},
                           {"outbox", rocksdb::ColumnFamilyOptions()},
                           {"rechecks", rocksdb::ColumnFamilyOptions()}});
  if (!database.ok()) return database.status();
  std::string stored_seq;
  uint64_t next_seq = 1;
  rocksdb::Status read = (*database)->db()->Get(
      rocksdb::ReadOptions(), (*database)->family(kHubMeta),
      keys::kNextOutboxSeq, &stored_seq);
  if (read.ok()) {
    std::optional<uint64_t> decoded = keys::DecodeUint64(stored_seq);
    if (!decoded) return absl::DataLossError("outbox counter is malformed");
    next_seq = *decoded;
  } else if (!read.IsNotFound()) {
    return FromRocks(read, "read outbox counter");
  }
  absl::StatusOr<std::unique_ptr<AuditLog>> audit =
      AuditLog::Open((*database)->db(), (*database)->family(kHubAudit));
  if (!audit.ok()) return audit.status();
  return std::unique_ptr<HubStore>(
      new HubStore(*std::move(database), *std::move(audit), next_seq));
}

HubStore::HubStore(std::unique_ptr<Database> database,
                   std::unique_ptr<AuditLog> audit, uint64_t next_seq)
    : database_(std::move(database)),
      audit_(std::move(audit)),
      next_seq_(next_seq) {}

HubStore::~HubStore() = default;

absl::Status HubStore::AppendAudit(storage::v1::AuditRecord record) {
  return audit_->Append(std::move(record));
}

void HubStore::AddAlerts(const std::vector<storage::v1::OutboxRecord>& alerts,
                         rocksdb::WriteBatch* batch) {
  for (const storage::v1::OutboxRecord& alert : alerts) {
    batch->Put(database_->family(kHubOutbox),
               keys::QueueKey(alert.recipient(), batch_seq_++),
               alert.SerializeAsString());
  }
}

absl::Status HubStore::Commit(rocksdb::WriteBatch* batch, uint64_t next_seq) {
  batch->Put(database_->family(kHubMeta), keys::kNextOutboxSeq,
             keys::EncodeUint64(next_seq));
  absl::Status written =
      FromRocks(database_->db()->Write(SyncedWrite(), batch), "write outbox");
  if (written.ok()) next_seq_ = next_seq;
  return written;
}

absl::Status HubStore::Enqueue(
    const std::vector<storage::v1::OutboxRecord>& alerts,
    const std::vector<storage::v1::RecheckRecord>& rechecks) {
  if (alerts.empty() && rechecks.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  rocksdb::WriteBatch batch;
  batch_seq_ = next_seq_;
  AddAlerts(alerts, &batch);
  for (const storage::v1::RecheckRecord& recheck : rechecks) {
    batch.Put(database_->family(kHubRechecks),
              keys::QueueKey(recheck.agency(), batch_seq_++),
              recheck.SerializeAsString());
  }
  return Commit(&batch, batch_seq_);
}

absl::StatusOr<std::vector<HubStore::Queued<storage::v1::OutboxRecord>>>
HubStore::PendingAlerts(const std::string& agency, size_t limit) const {
  return ReadQueue<storage::v1::OutboxRecord>(
      database_->db(), database_->family(kHubOutbox), agency, limit);
}

absl::StatusOr<std::vector<HubStore::Queued<storage::v1::RecheckRecord>>>
HubStore::PendingRechecks(const std::string& agency, size_t limit) const {
  return ReadQueue<storage::v1::RecheckRecord>(
      database_->db(), database_->family(kHubRechecks), agency, limit);
}

absl::Status HubStore::RemoveAlerts(const std::vector<std::string>& keys) {
  rocksdb::WriteBatch batch;
  for (const std::string& key : keys) {
    batch.Delete(database_->family(kHubOutbox), key);
  }
  return FromRocks(database_->db()->Write(SyncedWrite(), &batch),
                   "remove delivered alerts");
}

absl::Status HubStore::CompleteRecheck(
    const std::string& key,
    const std::vector<storage::v1::OutboxRecord>& alerts) {
  absl::MutexLock lock(&mu_);
  rocksdb::WriteBatch batch;
  batch_seq_ = next_seq_;
  batch.Delete(database_->family(kHubRechecks), key);
  AddAlerts(alerts, &batch);
  return Commit(&batch, batch_seq_);
}

absl::StatusOr<HubStore::Backlog> HubStore::BacklogFor(
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
  return backlog;
}

absl::StatusOr<std::map<std::string, HubStore::Backlog>> ReadBacklog(
    const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::OpenReadOnly(dir);
  if (!database.ok()) return database.status();
  std::map<std::string, HubStore::Backlog> backlog;
  for (const char* name : {"outbox", "rechecks"}) {
    rocksdb::ColumnFamilyHandle* family = (*database)->family(name);
    if (family == nullptr) {
      return absl::NotFoundError(absl::StrCat(dir, " is not a hub database"));
    }
    std::unique_ptr<rocksdb::Iterator> it(
        (*database)->db()->NewIterator(rocksdb::ReadOptions(), family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key = it->key().ToString();
      HubStore::Backlog& agency = backlog[key.substr(0, key.find('\0'))];
      if (std::string(name) == "rechecks") {
        ++agency.rechecks;
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

absl::StatusOr<uint64_t> ExportAudit(
    const std::string& dir,
    const std::function<void(const storage::v1::AuditRecord&)>& visit) {
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::OpenReadOnly(dir);
  if (!database.ok()) return database.status();
  rocksdb::ColumnFamilyHandle* audit = (*database)->family("audit");
  if (audit == nullptr) {
    return absl::NotFoundError(absl::StrCat(dir, " has no audit trail"));
  }
  return AuditLog::Export((*database)->db(), audit, visit);
}

}  // namespace deconfliction
