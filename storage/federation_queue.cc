#include "storage/federation_queue.h"

#include "absl/status/status.h"
#include "api/timestamps.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {

absl::StatusOr<std::unique_ptr<FederationQueue>> FederationQueue::Open(
    const Database& database) {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> family =
      database.Family(families::kFederationQueue);
  if (!family.ok()) return family.status();
  absl::StatusOr<uint64_t> next_seq = database.NextSeq(*family);
  if (!next_seq.ok()) return next_seq.status();
  return std::unique_ptr<FederationQueue>(
      new FederationQueue(database.db(), *family, *next_seq));
}

std::string FederationQueue::Stage(rocksdb::WriteBatch* batch,
                                   const storage::v1::PendingLookup& pending,
                                   Claim claim) {
  absl::MutexLock lock(&mu_);
  std::string key = keys::EncodeUint64(next_seq_++);
  batch->Put(family_, key, pending.SerializeAsString());
  if (claim == Claim::kClaimed) claimed_.insert(key);
  return key;
}

absl::StatusOr<std::vector<std::pair<std::string, storage::v1::PendingLookup>>>
FederationQueue::Oldest(size_t limit) const {
  std::vector<std::pair<std::string, storage::v1::PendingLookup>> pending;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), family_));
  absl::MutexLock lock(&mu_);
  for (it->SeekToFirst(); it->Valid() && pending.size() < limit; it->Next()) {
    if (claimed_.contains(it->key().ToString())) continue;
    storage::v1::PendingLookup lookup;
    if (!lookup.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError("queued federated lookup is corrupt");
    }
    pending.emplace_back(it->key().ToString(), std::move(lookup));
  }
  if (absl::Status s = FromRocks(it->status(), "read federation queue");
      !s.ok()) {
    return s;
  }
  return pending;
}

absl::StatusOr<FederationQueue::Backlog> FederationQueue::Waiting() const {
  Backlog backlog;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), family_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (backlog.lookups++ > 0) continue;
    storage::v1::PendingLookup oldest;
    if (!oldest.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError("queued federated lookup is corrupt");
    }
    backlog.oldest = FromTimestamp(oldest.queued_at());
  }
  if (absl::Status s = FromRocks(it->status(), "read federation queue");
      !s.ok()) {
    return s;
  }
  return backlog;
}

void FederationQueue::Release(const std::string& key) {
  absl::MutexLock lock(&mu_);
  claimed_.erase(key);
}

absl::Status FederationQueue::Remove(const std::string& key) {
  absl::Status removed = FromRocks(db_->Delete(SyncedWrite(), family_, key),
                                   "remove federated lookup");
  Release(key);
  return removed;
}

}  // namespace deconfliction
