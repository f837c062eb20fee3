#include "storage/node_database.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {
namespace {

constexpr uint64_t kCurrentSchemaVersion = 1;

// Claims a new database for `agency_id`, or checks that an existing one is
// this agency's and of the current schema.
absl::Status CheckOwner(const Database& database, const std::string& dir,
                        const std::string& agency_id) {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> meta =
      database.Family(families::kMeta);
  if (!meta.ok()) return meta.status();
  rocksdb::DB* db = database.db();
  std::string stored_agency, stored_version;
  rocksdb::Status agency_status =
      db->Get(rocksdb::ReadOptions(), *meta, keys::kAgencyId, &stored_agency);
  if (agency_status.IsNotFound()) {
    rocksdb::WriteBatch batch;
    batch.Put(*meta, keys::kAgencyId, agency_id);
    batch.Put(*meta, keys::kSchemaVersion,
              keys::EncodeUint64(kCurrentSchemaVersion));
    return FromRocks(db->Write(SyncedWrite(), &batch), "init");
  }
  if (absl::Status s = FromRocks(agency_status, "read agency"); !s.ok()) {
    return s;
  }
  if (stored_agency != agency_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("data_dir ", dir, " belongs to agency \"", stored_agency,
                     "\", not \"", agency_id, "\""));
  }
  if (absl::Status s = FromRocks(db->Get(rocksdb::ReadOptions(), *meta,
                                         keys::kSchemaVersion, &stored_version),
                                 "read schema version");
      !s.ok()) {
    return s;
  }
  if (keys::DecodeUint64(stored_version) != kCurrentSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("data_dir ", dir, " has an unknown schema version"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<NodeDatabase>> NodeDatabase::Open(
    const std::string& dir, const std::string& agency_id, const Clock& clock) {
  std::unique_ptr<NodeDatabase> node(new NodeDatabase());
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::Open(dir, NodeFamilies());
  if (!database.ok()) return database.status();
  node->database_ = *std::move(database);
  if (absl::Status s = CheckOwner(*node->database_, dir, agency_id); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<CaseStore>> cases =
      CaseStore::Open(*node->database_, clock);
  if (!cases.ok()) return cases.status();
  node->cases_ = *std::move(cases);
  absl::StatusOr<std::unique_ptr<AlertLog>> alerts =
      AlertLog::Open(*node->database_, clock);
  if (!alerts.ok()) return alerts.status();
  node->alerts_ = *std::move(alerts);
  absl::StatusOr<std::unique_ptr<FederationQueue>> queue =
      FederationQueue::Open(*node->database_);
  if (!queue.ok()) return queue.status();
  node->federation_queue_ = *std::move(queue);
  absl::StatusOr<std::unique_ptr<AuditLog>> audit =
      AuditLog::Open(*node->database_);
  if (!audit.ok()) return audit.status();
  node->audit_ = *std::move(audit);
  return node;
}

NodeDatabase::~NodeDatabase() = default;

}  // namespace deconfliction
