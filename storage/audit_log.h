// AuditLog: the append-only audit trail kept by the hub, by every node and
// by every custodian (audit column family; key = seq, uint64 big-endian),
// and ExportAudit, which reads and verifies one from outside.
//
// The chain is keyed. Each server has its own 32-byte audit key in
// `<data_dir>/audit.key` (owner-only, created with the trail; a server
// refuses to start when it is missing for a keyed trail or readable by
// others). Each record stores `mac`, the HMAC-SHA-256 under that key of its
// other bytes, which include `previous_mac`, the previous record's `mac`. So
// whoever holds the key can prove that no record was edited, removed or
// reordered, and whoever does not cannot forge a record. Cutting the tail
// leaves a consistent chain: that shows only against an anchor, a chain
// head recorded elsewhere. Nodes send theirs to the hub (SyncedHead,
// server/node/audit_anchoring.h), which records them in its own trail;
// AnchorCheck compares a trail with them.
//
// Records written before the chain was keyed link by the SHA-256 of the
// previous record's stored bytes (`previous_hash`); they are still verified,
// and the first keyed record seals them.
//
// Durability: Append returns once the record is in the write-ahead log, so
// it survives the process being killed; the log is synced to disk at most
// kAuditSyncInterval later (a power loss can cost at most that window of
// audit records, never case data, whose writes are synced before they are
// acknowledged). Syncing every record would put a disk flush on every
// federated lookup's path, three times (see BENCHMARKS.md). Only synced
// records are anchored.
//
// Thread safety: Append and SyncedHead may be called from any thread.
#ifndef DECONFLICTION_STORAGE_AUDIT_LOG_H_
#define DECONFLICTION_STORAGE_AUDIT_LOG_H_

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
#include "base/digest.h"
#include "base/periodic.h"
#include "storage/group_commit.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace deconfliction {

class Database;

inline constexpr absl::Duration kAuditSyncInterval = absl::Milliseconds(100);
inline constexpr size_t kAuditKeyBytes = 32;
inline constexpr size_t kAuditMacBytes = 32;

// Where a data directory's audit key lives: `<dir>/audit.key`.
std::string AuditKeyFile(const std::string& dir);

// The newest record of a trail: its seq (0 for an empty trail) and mac.
struct AuditHead {
  uint64_t seq = 0;
  std::string mac;
};

class AuditLog {
 public:
  // Continues the chain after the last record in `database`'s audit
  // family, under the key in `key_file`. The key file is created (32 random
  // bytes, 0600) when missing and no record is keyed yet. FAILED_PRECONDITION
  // when the family is missing, or the key file is missing for a keyed
  // trail, readable by others, of the wrong size, or not the key the trail's
  // newest record was written with. `database` must outlive the log.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(
      const Database& database, const std::string& key_file);

  // Appends `record` (its seq and chain fields are set here). Returns once
  // the record is in the write-ahead log (see "Durability" above). Records
  // appended concurrently share one write (storage/group_commit.h), in the
  // order they arrived.
  absl::Status Append(storage::v1::AuditRecord record);

  // The newest record known to be synced to disk (seq 0 when none is).
  AuditHead SyncedHead() const;

  // Visits every record in order, verifying the chain under `key` as it
  // goes: DATA_LOSS naming the first record that was altered or whose link
  // is broken; FAILED_PRECONDITION when a record is keyed and `key` is
  // empty. Returns how many records were visited.
  static absl::StatusOr<uint64_t> Export(
      rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
      const std::string& key,
      const std::function<void(const storage::v1::AuditRecord&)>& visit);

 private:
  AuditLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
           const std::string& key, const AuditHead& head,
           std::string legacy_hash);
  // Chains, MACs and writes a group of records in one write (GroupCommit
  // calls it one group at a time).
  absl::Status WriteGroup(const std::vector<storage::v1::AuditRecord*>& group);
  // Syncs the write-ahead log if records were appended since the last sync;
  // run every kAuditSyncInterval, and once more when stopping.
  void SyncIfWritten();

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const family_;
  HmacSha256 mac_;  // used by WriteGroup only
  GroupCommit<storage::v1::AuditRecord> appends_;
  mutable absl::Mutex mu_;
  AuditHead head_ ABSL_GUARDED_BY(mu_);
  AuditHead synced_ ABSL_GUARDED_BY(mu_);
  // The SHA-256 link for the first keyed record after unkeyed ones.
  std::string legacy_hash_ ABSL_GUARDED_BY(mu_);
  bool unsynced_ ABSL_GUARDED_BY(mu_) = false;
  Periodic syncer_;  // last: stops first
};

// A database that holds an audit trail and nothing else (a custodian's).
class AuditDatabase {
 public:
  // Opens or creates it in `dir`, with its key in AuditKeyFile(dir).
  // UNAVAILABLE when it cannot be opened; FAILED_PRECONDITION as for
  // AuditLog::Open.
  static absl::StatusOr<std::unique_ptr<AuditDatabase>> Open(
      const std::string& dir);
  ~AuditDatabase();

  AuditLog& audit() const { return *audit_; }
  // Database::IntProperty of the underlying database (metrics).
  uint64_t IntProperty(const std::string& property) const;
  // Database::Probe of the underlying database (health).
  absl::Status Probe() const;

 private:
  AuditDatabase() = default;

  // Declared first: destroyed after the log over it.
  std::unique_ptr<Database> database_;
  std::unique_ptr<AuditLog> audit_;
};

// Exports the audit trail of a hub's, a node's or a custodian's database
// (opened read-only, so its owner may keep running), verifying the chain
// under the key in `key_file`: `visit` sees every record in order. Returns
// the number of records; DATA_LOSS at the first altered record or broken
// link; NOT_FOUND when `dir` holds no audit trail; FAILED_PRECONDITION when
// the trail is keyed and the key file is missing or readable by others.
absl::StatusOr<uint64_t> ExportAudit(
    const std::string& dir, const std::string& key_file,
    const std::function<void(const storage::v1::AuditRecord&)>& visit);

// Checks a verified trail against the anchors the hub recorded for it:
// every anchored record must be in the trail, unchanged. Feed it the trail's
// records in order (Visit), then call Finish.
class AnchorCheck {
 public:
  struct Summary {
    uint64_t anchors = 0;
    uint64_t newest_anchored_seq = 0;
    // Records after the newest anchor (not yet anchored: their cut would
    // not show).
    uint64_t unanchored = 0;
  };

  // `anchors` in any order, repeats allowed.
  explicit AnchorCheck(const std::vector<storage::v1::AuditAnchor>& anchors);

  void Visit(const storage::v1::AuditRecord& record);

  // DATA_LOSS naming the first anchored record that is missing (the tail
  // was cut) or differs (the trail was altered or rebuilt, e.g. restored
  // from an older backup) after `last_seq`, the trail's last seq.
  absl::StatusOr<Summary> Finish(uint64_t last_seq) const;

 private:
  // seq -> the macs anchored for it.
  std::map<uint64_t, std::vector<std::string>> anchored_;
  std::map<uint64_t, std::string> seen_;  // anchored seq -> the trail's mac
};

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_AUDIT_LOG_H_
