#include "storage/federation_queue.h"

#include "absl/status/status.h"
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

absl::Status FederationQueue::Add(const storage::v1::PendingLookup& pending) {
  absl::MutexLock lock(&mu_);
  absl::Status written =
      FromRocks(db_->Put(SyncedWrite(), family_, keys::EncodeUint64(next_seq_),
                         pending.SerializeAsString()),
                "queue federated lookup");
  if (written.ok()) ++next_seq_;
  return written;
}

void FederationQueue::Stage(rocksdb::WriteBatch* batch,
                            const storage::v1::PendingLookup& pending) {
  absl::MutexLock lock(&mu_);
  batch->Put(family_, keys::EncodeUint64(next_seq_++),
             pending.SerializeAsString());
}

absl::StatusOr<std::vector<std::pair<std::string, storage::v1::PendingLookup>>>
FederationQueue::Oldest(size_t limit) const {
  std::vector<std::pair<std::string, storage::v1::PendingLookup>> pending;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), family_));
  for (it->SeekToFirst(); it->Valid() && pending.size() < limit; it->Next()) {
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

absl::Status FederationQueue::Remove(const std::string& key) {
  return FromRocks(db_->Delete(SyncedWrite(), family_, key),
                   "remove federated lookup");
}

}  // namespace deconfliction
