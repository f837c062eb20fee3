// The coordination-centre hub's database: HubDatabase opens it and holds its
// two stores, the audit trail (storage/audit_log.h) and the AlertOutbox. The
// outbox holds alerts waiting for delivery to their recipient's node (with
// the match's token, both sides' contacts and caveats, and a case reference
// where the owner shares it) and rechecks (registrations some node could
// not be asked about yet, as tokens and the registrant's contact). It holds
// no identifier in plaintext. Alerts a recipient's node keeps refusing are
// set aside (kept, counted, no longer in the way of the others). Delivered
// alerts are kept, under the cursor their node reported, for the retention
// window (limits.alert_retention_days), so that a node restored from a
// backup can recover them. Column families: default (meta), audit, outbox,
// rechecks, set_aside, delivered; key layouts in storage/keys.h.
//
// Durability: Enqueue, MarkDelivered, CompleteRecheck, SetAside and
// ForgetDeliveredBefore are each one WriteBatch with a synced WAL. Enqueues
// that arrive together share one (storage/group_commit.h): one disk flush
// for all of them.
//
// Thread safety: all methods may be called concurrently.
#ifndef DECONFLICTION_STORAGE_ALERT_OUTBOX_H_
#define DECONFLICTION_STORAGE_ALERT_OUTBOX_H_

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
#include "storage/audit_log.h"
#include "storage/group_commit.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace deconfliction {

class Database;

class AlertOutbox {
 public:
  // Continues after the records `database` holds. `database` must outlive
  // the outbox. FAILED_PRECONDITION when a family is missing.
  static absl::StatusOr<std::unique_ptr<AlertOutbox>> Open(
      const Database& database);

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
  // Moves delivered alerts from the outbox to the delivered ones, each
  // under the cursor its node reported (`cursors`, in order; when the node
  // reported none, the alerts are only removed), at `now`.
  absl::Status MarkDelivered(
      const std::vector<Queued<storage::v1::OutboxRecord>>& alerts,
      const std::vector<uint64_t>& cursors, absl::Time now);

  struct DeliveredPage {
    std::vector<storage::v1::DeliveredRecord> alerts;
    // The key to continue after; empty when there are no more.
    std::string next_page_token;
    // The largest cursor `agency`'s node reported (0: none).
    uint64_t last_cursor = 0;
  };
  // Up to `limit` of the alerts delivered to `agency` with a cursor after
  // `after_cursor`, in cursor order, continuing after `page_token` (a
  // previous page's next_page_token) when it is not empty.
  // INVALID_ARGUMENT for a malformed page token.
  absl::StatusOr<DeliveredPage> Delivered(const std::string& agency,
                                          uint64_t after_cursor,
                                          const std::string& page_token,
                                          size_t limit) const;
  // Deletes the delivered alerts delivered before `cutoff`; how many.
  absl::StatusOr<uint64_t> ForgetDeliveredBefore(absl::Time cutoff);
  // Moves the pending alert `key` to the set-aside alerts, with `reason` and
  // `now`. NOT_FOUND when it is not pending.
  absl::Status SetAside(const std::string& key, const std::string& reason,
                        absl::Time now);
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
    uint64_t set_aside = 0;  // alerts no longer tried
    // raised_at of the oldest pending alert (InfiniteFuture if none).
    absl::Time oldest_alert = absl::InfiniteFuture();
  };
  absl::StatusOr<Backlog> BacklogFor(const std::string& agency) const;

 private:
  AlertOutbox(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
              rocksdb::ColumnFamilyHandle* outbox,
              rocksdb::ColumnFamilyHandle* rechecks,
              rocksdb::ColumnFamilyHandle* set_aside,
              rocksdb::ColumnFamilyHandle* delivered, uint64_t next_seq)
      : db_(db),
        meta_(meta),
        outbox_(outbox),
        rechecks_(rechecks),
        set_aside_(set_aside),
        delivered_(delivered),
        enqueues_([this](const std::vector<Enqueued*>& group) {
          return WriteEnqueued(group);
        }),
        next_seq_(next_seq) {}

  // One Enqueue's records, until a group write takes them.
  struct Enqueued {
    const std::vector<storage::v1::OutboxRecord>* alerts = nullptr;
    const std::vector<storage::v1::RecheckRecord>* rechecks = nullptr;
  };
  // Writes a group of Enqueues in one synced batch, in their order.
  absl::Status WriteEnqueued(const std::vector<Enqueued*>& group);
  // Adds `alerts` to `batch` under fresh keys.
  void AddAlerts(const std::vector<storage::v1::OutboxRecord>& alerts,
                 rocksdb::WriteBatch* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Commit(rocksdb::WriteBatch* batch, uint64_t next_seq)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The last cursor `agency`'s node reported; 0 when none.
  absl::StatusOr<uint64_t> ReadLastCursor(const std::string& agency) const;

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const meta_;
  rocksdb::ColumnFamilyHandle* const outbox_;
  rocksdb::ColumnFamilyHandle* const rechecks_;
  rocksdb::ColumnFamilyHandle* const set_aside_;
  rocksdb::ColumnFamilyHandle* const delivered_;
  GroupCommit<Enqueued> enqueues_;
  absl::Mutex mu_;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_);
  uint64_t batch_seq_ ABSL_GUARDED_BY(mu_) = 0;  // next_seq_ while batching
};

// The hub's database and its two stores.
class HubDatabase {
 public:
  // Opens or creates the database in `dir`. UNAVAILABLE when it cannot be
  // opened (e.g. another process holds its lock).
  static absl::StatusOr<std::unique_ptr<HubDatabase>> Open(
      const std::string& dir);
  ~HubDatabase();

  AlertOutbox& outbox() const { return *outbox_; }
  AuditLog& audit() const { return *audit_; }
  // Database::IntProperty of the underlying database (metrics).
  uint64_t IntProperty(const std::string& property) const;
  // Database::Probe of the underlying database (health).
  absl::Status Probe() const;

 private:
  HubDatabase() = default;

  // Declared first: destroyed after the stores over it.
  std::unique_ptr<Database> database_;
  std::unique_ptr<AlertOutbox> outbox_;
  std::unique_ptr<AuditLog> audit_;
};

// The alert backlog of a hub's database per agency (opened read-only, so the
// hub may keep running). NOT_FOUND when `dir` holds no hub database.
absl::StatusOr<std::map<std::string, AlertOutbox::Backlog>> ReadBacklog(
    const std::string& dir);

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_ALERT_OUTBOX_H_
