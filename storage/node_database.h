// NodeDatabase: an agency node's RocksDB database and the stores over it,
// one per purpose: the agency's cases and token index (CaseStore), its
// alert inbox (AlertLog), registrations waiting for the hub
// (FederationQueue) and its audit trail (AuditLog). Opening checks that the
// database belongs to this agency and has the current schema.
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

class NodeDatabase {
 public:
  // Opens or creates the database in `dir` for agency `agency_id`.
  // FAILED_PRECONDITION when the directory belongs to another agency or has
  // an unknown schema; UNAVAILABLE when RocksDB cannot open it (e.g. another
  // process holds its lock).
  static absl::StatusOr<std::unique_ptr<NodeDatabase>> Open(
      const std::string& dir, const std::string& agency_id, const Clock& clock);
  ~NodeDatabase();
  NodeDatabase(const NodeDatabase&) = delete;
  NodeDatabase& operator=(const NodeDatabase&) = delete;

  CaseStore& cases() const { return *cases_; }
  AlertLog& alerts() const { return *alerts_; }
  FederationQueue& federation_queue() const { return *federation_queue_; }
  AuditLog& audit() const { return *audit_; }

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
