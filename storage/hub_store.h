// HubStore: the coordination-centre hub's database. It holds no identifier
// data: its audit trail, the alert outbox (alerts waiting for their
// recipient's acknowledgement, with the match's token) and rechecks
// (registrations some node could not be asked about yet). Column families:
// default (meta), audit, outbox, rechecks; key layouts in storage/keys.h.
// Every write is one synced batch.
//
// Thread safety: all methods may be called concurrently.
#ifndef DECONFLICTION_STORAGE_HUB_STORE_H_
#define DECONFLICTION_STORAGE_HUB_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/deconfliction/storage/v1/records.pb.h"

namespace deconfliction {

class AuditLog;
class Database;

}  // namespace deconfliction

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace deconfliction {

class HubStore {
 public:
  // Opens or creates the database in `dir`. UNAVAILABLE when it cannot be
  // opened.
  static absl::StatusOr<std::unique_ptr<HubStore>> Open(const std::string& dir);
  ~HubStore();

  // Appends to the hub's audit trail.
  absl::Status AppendAudit(storage::v1::AuditRecord record);

  // Queues alerts and rechecks, durably, in one batch.
  absl::Status Enqueue(const std::vector<storage::v1::OutboxRecord>& alerts,
                       const std::vector<storage::v1::RecheckRecord>& rechecks);

  template <typename Record>
  struct Queued {
    std::string key;
    Record record;
  };
  // The oldest `limit` alerts waiting for `agency`, in order.
  absl::StatusOr<std::vector<Queued<storage::v1::OutboxRecord>>> PendingAlerts(
      const std::string& agency, size_t limit) const;
  // Removes delivered alerts.
  absl::Status RemoveAlerts(const std::vector<std::string>& keys);
  // The oldest `limit` rechecks waiting for `agency`'s node.
  absl::StatusOr<std::vector<Queued<storage::v1::RecheckRecord>>>
  PendingRechecks(const std::string& agency, size_t limit) const;
  // Replaces a recheck by the alerts it produced, atomically.
  absl::Status CompleteRecheck(
      const std::string& key,
      const std::vector<storage::v1::OutboxRecord>& alerts);

  struct Backlog {
    uint64_t alerts = 0;
    uint64_t rechecks = 0;
    // raised_at of the oldest pending alert (InfiniteFuture if none).
    absl::Time oldest_alert = absl::InfiniteFuture();
  };
  absl::StatusOr<Backlog> BacklogFor(const std::string& agency) const;

 private:
  HubStore(std::unique_ptr<Database> database, std::unique_ptr<AuditLog> audit,
           uint64_t next_seq);
  // Adds `alerts` to `batch` under fresh keys.
  void AddAlerts(const std::vector<storage::v1::OutboxRecord>& alerts,
                 rocksdb::WriteBatch* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Commit(rocksdb::WriteBatch* batch, uint64_t next_seq)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<Database> database_;
  std::unique_ptr<AuditLog> audit_;
  absl::Mutex mu_;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_);
  uint64_t batch_seq_ ABSL_GUARDED_BY(mu_) = 0;  // next_seq_ while batching
};

// The alert backlog of a hub's database per agency (opened read-only, so the
// hub may keep running). NOT_FOUND when `dir` holds no hub database.
absl::StatusOr<std::map<std::string, HubStore::Backlog>> ReadBacklog(
    const std::string& dir);

// Exports the audit trail of a hub's or a node's database (opened read-only,
// so its owner may keep running), verifying the hash chain: `visit` sees
// every record in order. Returns the number of records; DATA_LOSS at the
// first broken link; NOT_FOUND when `dir` holds no audit trail.
absl::StatusOr<uint64_t> ExportAudit(
    const std::string& dir,
    const std::function<void(const storage::v1::AuditRecord&)>& visit);

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_HUB_STORE_H_
