// NodeDatabase: an agency node's RocksDB database and the stores over it,
// one per purpose: the agency's cases and token index (CaseStore), its
// alert inbox (AlertLog), registrations waiting for the hub
// (FederationQueue) and its audit trail (AuditLog). Opening checks that the
// database belongs to this agency and holds tokens of the node's token-key
// epoch, and migrates an older schema (storage/node_migrations.h).
//
// Thread safety: the stores may be used concurrently (see each header).
#ifndef DECONFLICTION_STORAGE_NODE_DATABASE_H_
#define DECONFLICTION_STORAGE_NODE_DATABASE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/clock.h"
#include "storage/alert_log.h"
#include "storage/audit_log.h"
#include "storage/case_store.h"
#include "storage/federation_queue.h"
#include "storage/node_migrations.h"

namespace deconfliction {

class Database;

// What a node database says of itself, read as it is (empty or 0 when
// absent).
struct NodeDatabaseMeta {
  std::string agency_id;
  uint64_t schema_version = 0;
  std::string token_epoch;
  // While a re-tokenization is under way: the epoch it is going to.
  std::string retokenize_epoch;
  // After a restore, until the node has recovered the alerts the hub
  // delivered since the backup: which backup was restored.
  std::string alert_recovery;
};
absl::StatusOr<NodeDatabaseMeta> ReadNodeDatabaseMeta(const Database& database);

// What the node tells the operator to run when its database's tokens are
// not of its epoch.
inline constexpr char kRetokenizeCommand[] =
    "deconflict-node --config=<this config> --retokenize";

// Records in the closed node database in `dir` that it was restored from
// `backup` (a description) and must recover its alerts from the hub.
absl::Status MarkNodeDatabaseRestored(const std::string& dir,
                                      const std::string& backup);

class NodeDatabase {
 public:
  // Opens or creates the database in `dir` for agency `agency_id`, with
  // tokens of `token_epoch`, migrating an older schema from version 2 on
  // (each migration is logged). FAILED_PRECONDITION when the directory
  // belongs to another agency, has a schema newer than this release's,
  // holds tokens of another epoch or of the HMAC era, or is half
  // re-tokenized (the message names kRetokenizeCommand); UNAVAILABLE when
  // RocksDB cannot open it (e.g. another process holds its lock).
  static absl::StatusOr<std::unique_ptr<NodeDatabase>> Open(
      const std::string& dir, const std::string& agency_id,
      const std::string& token_epoch, const Clock& clock);
  ~NodeDatabase();
  NodeDatabase(const NodeDatabase&) = delete;
  NodeDatabase& operator=(const NodeDatabase&) = delete;

  CaseStore& cases() const { return *cases_; }
  AlertLog& alerts() const { return *alerts_; }
  FederationQueue& federation_queue() const { return *federation_queue_; }
  AuditLog& audit() const { return *audit_; }
  // NodeDatabaseMeta::alert_recovery as the database was opened: empty
  // unless alerts are to be recovered after a restore.
  const std::string& alert_recovery() const { return alert_recovery_; }
  // Ends the recovery: the next alert cursor is at least `next_cursor`, and
  // the mark is removed.
  absl::Status FinishAlertRecovery(uint64_t next_cursor);
  // Database::IntProperty of the underlying database (metrics).
  uint64_t IntProperty(const std::string& property) const;
  // Database::Probe of the underlying database (health).
  absl::Status Probe() const;

 private:
  NodeDatabase() = default;

  // Declared first: destroyed after every store over it.
  std::unique_ptr<Database> database_;
  std::unique_ptr<CaseStore> cases_;
  std::unique_ptr<AlertLog> alerts_;
  std::unique_ptr<FederationQueue> federation_queue_;
  std::unique_ptr<AuditLog> audit_;
  std::string alert_recovery_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_NODE_DATABASE_H_
