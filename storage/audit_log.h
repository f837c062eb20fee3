// AuditLog: the append-only, hash-chained audit trail kept by the hub, by
// every node (audit column family; key = seq, uint64 big-endian), and
// ExportAudit, which reads and verifies one from outside. Each
// record carries the SHA-256 of the previous record's stored bytes, so an
// auditor can prove that nothing was removed or altered.
//
// Durability: Append returns once the record is in the write-ahead log, so
// it survives the process being killed; the log is synced to disk at most
// kAuditSyncInterval later (a power loss can cost at most that window of
// audit records, never case data, whose writes are synced before they are
// acknowledged). Syncing every record would put a disk flush on every
// federated lookup's path, three times (see BENCHMARKS.md).
//
// Thread safety: Append may be called from any thread (serialized inside).
#ifndef DECONFLICTION_STORAGE_AUDIT_LOG_H_
#define DECONFLICTION_STORAGE_AUDIT_LOG_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/deconfliction/storage/v1/records.pb.h"
#include "base/periodic.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace deconfliction {

class Database;

inline constexpr absl::Duration kAuditSyncInterval = absl::Milliseconds(100);

class AuditLog {
 public:
  // Continues the chain after the last record in `database`'s audit
  // family. `database` must outlive the log. FAILED_PRECONDITION when the
  // family is missing.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(
      const Database& database);

  // Appends `record` (its seq and previous_hash are set here). Returns once
  // the record is in the write-ahead log (see "Durability" above).
  absl::Status Append(storage::v1::AuditRecord record);

  // Visits every record in order, verifying the chain as it goes:
  // DATA_LOSS naming the first record whose link is broken. Returns how
  // many records were visited.
  static absl::StatusOr<uint64_t> Export(
      rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
      const std::function<void(const storage::v1::AuditRecord&)>& visit);

 private:
  AuditLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
           uint64_t next_seq, std::string last_hash);
  // Syncs the write-ahead log if records were appended since the last sync;
  // run every kAuditSyncInterval, and once more when stopping.
  void SyncIfWritten();

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const family_;
  absl::Mutex mu_;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_);
  std::string last_hash_ ABSL_GUARDED_BY(mu_);
  bool unsynced_ ABSL_GUARDED_BY(mu_) = false;
  Periodic syncer_;  // last: stops first
};

// A database that holds an audit trail and nothing else (a custodian's).
class AuditDatabase {
 public:
  // Opens or creates it in `dir`. UNAVAILABLE when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<AuditDatabase>> Open(
      const std::string& dir);
  ~AuditDatabase();

  AuditLog& audit() const { return *audit_; }

 private:
  AuditDatabase() = default;

  // Declared first: destroyed after the log over it.
  std::unique_ptr<Database> database_;
  std::unique_ptr<AuditLog> audit_;
};

// Exports the audit trail of a hub's or a node's database (opened read-only,
// so its owner may keep running), verifying the hash chain: `visit` sees
// every record in order. Returns the number of records; DATA_LOSS at the
// first broken link; NOT_FOUND when `dir` holds no audit trail.
absl::StatusOr<uint64_t> ExportAudit(
    const std::string& dir,
    const std::function<void(const storage::v1::AuditRecord&)>& visit);

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_AUDIT_LOG_H_
