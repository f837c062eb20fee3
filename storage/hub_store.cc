#include "storage/hub_store.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/audit_log.h"
#include "storage/database.h"

namespace deconfliction {
namespace {

enum HubFamily : size_t { kHubMeta = 0, kHubAudit = 1 };

}  // namespace

absl::StatusOr<std::unique_ptr<HubStore>> HubStore::Open(
    const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::Open(dir, {{"default", rocksdb::ColumnFamilyOptions()},
                           {"audit", rocksdb::ColumnFamilyOptions()}});
  if (!database.ok()) return database.status();
  absl::StatusOr<std::unique_ptr<AuditLog>> audit =
      AuditLog::Open((*database)->db(), (*database)->family(kHubAudit));
  if (!audit.ok()) return audit.status();
  return std::unique_ptr<HubStore>(
      new HubStore(*std::move(database), *std::move(audit)));
}

HubStore::HubStore(std::unique_ptr<Database> database,
                   std::unique_ptr<AuditLog> audit)
    : database_(std::move(database)), audit_(std::move(audit)) {}

HubStore::~HubStore() = default;

absl::Status HubStore::AppendAudit(storage::v1::AuditRecord record) {
  return audit_->Append(std::move(record));
}

absl::StatusOr<uint64_t> ExportAudit(
    const std::string& dir,
    const std::function<void(const storage::v1::AuditRecord&)>& visit) {
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::OpenReadOnly(dir);
  if (!database.ok()) return database.status();
  rocksdb::ColumnFamilyHandle* audit = (*database)->family("audit");
  if (audit == nullptr) {
    return absl::NotFoundError(absl::StrCat(dir, " has no audit trail"));
  }
  return AuditLog::Export((*database)->db(), audit, visit);
}

}  // namespace deconfliction
