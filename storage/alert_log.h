// AlertLog: a node's inbox of match alerts (alerts family; key layouts in
// storage/keys.h). Each alert is stored once, under the next cursor, and
// read back in cursor order by watchers; its cursor counter and the count
// of unacknowledged alerts live in meta.
//
// Durability: every mutating call is one WriteBatch with a synced WAL; when
// it returns OK the alerts and counters are durable together.
//
// Thread safety: all methods may be called concurrently; writers are
// serialized internally.
#ifndef DECONFLICTION_STORAGE_ALERT_LOG_H_
#define DECONFLICTION_STORAGE_ALERT_LOG_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "base/clock.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace deconfliction {

class Database;

struct StoredAlerts {
  uint32_t stored = 0;
  uint32_t duplicates = 0;
};

struct AcknowledgedAlerts {
  uint32_t acknowledged = 0;
  std::vector<std::string> unknown_ids;
};

struct AlertInbox {
  uint64_t last_cursor = 0;
  uint64_t unacknowledged = 0;
};

class AlertLog {
 public:
  // Continues after the alerts `database` holds. `database` must outlive
  // the log. FAILED_PRECONDITION when a family is missing, DATA_LOSS for a
  // malformed counter.
  static absl::StatusOr<std::unique_ptr<AlertLog>> Open(
      const Database& database, Clock clock);

  // Stores `alerts` in order, each under the next cursor (their `cursor` is
  // set here), skipping any whose alert_id is already held.
  absl::StatusOr<StoredAlerts> Store(std::vector<v1::Alert> alerts);
  // Up to `limit` alerts with a cursor after `after`, in cursor order (none
  // after the largest cursor, 2^64 - 1).
  absl::StatusOr<std::vector<v1::Alert>> After(uint64_t after,
                                               size_t limit) const;
  // Marks the alerts acknowledged (once; repeats are not counted).
  absl::StatusOr<AcknowledgedAlerts> Acknowledge(
      const std::vector<std::string>& alert_ids);
  AlertInbox Inbox() const;

 private:
  AlertLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
           rocksdb::ColumnFamilyHandle* alerts, Clock clock,
           uint64_t next_cursor, uint64_t unacknowledged);

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const meta_;
  rocksdb::ColumnFamilyHandle* const alerts_;
  const Clock clock_;
  mutable absl::Mutex mu_;
  uint64_t next_cursor_ ABSL_GUARDED_BY(mu_);
  uint64_t unacknowledged_ ABSL_GUARDED_BY(mu_);
};

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_ALERT_LOG_H_
