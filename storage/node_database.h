// NodeDatabase: an agency node's RocksDB database and the stores over it,
// one per purpose: the agency's cases and token index (CaseStore), its
// alert inbox (AlertLog), registrations waiting for the hub
// (FederationQueue) and its audit trail (AuditLog). Opening checks that the
// database belongs to this agency, has the current schema and holds tokens
// of the node's token-key epoch.
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

namespace deconfliction {

class Database;

// The schema of a node database: 2 since blind tokens (the database records
// the token-key epoch of its tokens); 1 held HMAC tokens.
inline constexpr uint64_t kNodeSchemaVersion = 2;

// What a node database says of itself, read as it is (empty or 0 when
// absent).
struct NodeDatabaseMeta {
  std::string agency_id;
  uint64_t schema_version = 0;
  std::string token_epoch;
  // While a re-tokenization is under way: the epoch it is going to.
  std::string retokenize_epoch;
};
absl::StatusOr<NodeDatabaseMeta> ReadNodeDatabaseMeta(const Database& database);

// What the node tells the operator to run when its database's tokens are
// not of its epoch.
inline constexpr char kRetokenizeCommand[] =
    "deconflict-node --config=<this config> --retokenize";

class NodeDatabase {
 public:
  // Opens or creates the database in `dir` for agency `agency_id`, with
  // tokens of `token_epoch`. FAILED_PRECONDITION when the directory belongs
  // to another agency, has an unknown schema, holds tokens of another epoch
  // or of the HMAC era, or is half re-tokenized (the message names
  // kRetokenizeCommand); UNAVAILABLE when RocksDB cannot open it (e.g.
  // another process holds its lock).
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
};

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_NODE_DATABASE_H_
