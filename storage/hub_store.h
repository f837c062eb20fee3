// HubStore: the coordination-centre hub's database. It holds no identifier
// data and no tokens: only the hub's audit trail (and, with match alerts,
// the alert outbox). Column families: default (meta), audit.
//
// Thread safety: all methods may be called concurrently.
#ifndef DECONFLICTION_STORAGE_HUB_STORE_H_
#define DECONFLICTION_STORAGE_HUB_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/deconfliction/storage/v1/records.pb.h"

namespace deconfliction {

class AuditLog;
class Database;

class HubStore {
 public:
  // Opens or creates the database in `dir`. UNAVAILABLE when it cannot be
  // opened.
  static absl::StatusOr<std::unique_ptr<HubStore>> Open(const std::string& dir);
  ~HubStore();

  // Appends to the hub's audit trail with a synced write.
  absl::Status AppendAudit(storage::v1::AuditRecord record);

 private:
  HubStore(std::unique_ptr<Database> database, std::unique_ptr<AuditLog> audit);

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

#endif  // DECONFLICTION_STORAGE_HUB_STORE_H_
