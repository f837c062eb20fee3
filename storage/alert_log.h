// AlertLog: a node's inbox of match alerts (alerts family; key layouts in
// storage/keys.h). Each alert is stored once, under the next cursor, and
// read back in cursor order by watchers; its cursor counter and the count
// of unacknowledged alerts live in meta.
//
// CHECKED alerts are aggregated (v1.Alert.checked_count): per own case (the
// first of the alert's own entries), asking agency and UTC day of
// raised_at, the first takes a cursor and the later ones join it while it is
// not acknowledged. Group keys of past days are deleted as days pass.
//
// Durability: every mutating call is one WriteBatch with a synced WAL; when
// it returns OK the alerts and counters are durable together.
//
// Thread safety: all methods may be called concurrently; writers are
// serialized internally.
#ifndef DECONFLICTION_STORAGE_ALERT_LOG_H_
#define DECONFLICTION_STORAGE_ALERT_LOG_H_

#include <map>
#include <memory>
#include <optional>
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

// An alert to store, with this agency's side filled in.
struct IncomingAlert {
  v1::Alert alert;
  // Not 0 when recovering alerts after a restore: the cursor the alert had
  // before (the hub's record of it), where it is stored again when that
  // cursor is free.
  uint64_t cursor = 0;
};

struct StoredAlerts {
  uint32_t stored = 0;      // new alerts, each under a cursor of its own
  uint32_t aggregated = 0;  // CHECKED alerts that joined their group's alert
  uint32_t duplicates = 0;  // ids already held
  // For each incoming alert, in order: the cursor of the alert holding it.
  std::vector<uint64_t> cursors;
};

// The group key (keys::AlertGroupKey) of a CHECKED alert with own entries;
// empty for any other alert.
std::string CheckedAlertGroup(const v1::Alert& alert);

// At most this many own entries are listed in an aggregated alert.
inline constexpr int kMaxOwnEntriesPerAlert = 100;

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
  // set here) or their recovered one, skipping any whose alert_id is
  // already held and aggregating CHECKED alerts. The next cursor is then
  // past every cursor stored.
  absl::StatusOr<StoredAlerts> Store(std::vector<IncomingAlert> alerts);
  // Makes the next cursor at least `next` (after a restore: past every
  // cursor handed out before it, so that none is reused).
  absl::Status SkipTo(uint64_t next);
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
  // The alert under `cursor`, as `written` (this batch) or the log holds it.
  absl::StatusOr<std::optional<v1::Alert>> AlertAt(
      uint64_t cursor, const std::map<uint64_t, v1::Alert>& written) const;
  // The cursor held under `key` (an id or group key), as `batch` (this
  // batch's) or the log holds it.
  absl::StatusOr<std::optional<uint64_t>> CursorUnder(
      const std::string& key,
      const std::map<std::string, uint64_t>& batch) const;

  mutable absl::Mutex mu_;
  uint64_t next_cursor_ ABSL_GUARDED_BY(mu_);
  std::string groups_pruned_before_ ABSL_GUARDED_BY(mu_);
  uint64_t unacknowledged_ ABSL_GUARDED_BY(mu_);
};

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_ALERT_LOG_H_
