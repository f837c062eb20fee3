#include "storage/node_database.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {
namespace {

// Claims a new database for `agency_id` and `token_epoch`, or checks that
// an existing one is this agency's and of this epoch, migrating its schema.
absl::Status CheckOwner(const Database& database, const std::string& dir,
                        const std::string& agency_id,
                        const std::string& token_epoch, absl::Time now,
                        NodeDatabaseMeta* meta) {
  absl::StatusOr<NodeDatabaseMeta> read = ReadNodeDatabaseMeta(database);
  if (!read.ok()) return read.status();
  *meta = *std::move(read);
  if (meta->agency_id.empty()) {
    absl::StatusOr<rocksdb::ColumnFamilyHandle*> family =
        database.Family(families::kMeta);
    if (!family.ok()) return family.status();
    rocksdb::WriteBatch batch;
    batch.Put(*family, keys::kAgencyId, agency_id);
    batch.Put(*family, keys::kSchemaVersion,
              keys::EncodeUint64(kNodeSchemaVersion));
    batch.Put(*family, keys::kTokenEpoch, token_epoch);
    return FromRocks(database.db()->Write(SyncedWrite(), &batch), "init");
  }
  if (meta->agency_id != agency_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("data_dir ", dir, " belongs to agency \"", meta->agency_id,
                     "\", not \"", agency_id, "\""));
  }
  if (meta->schema_version == 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data_dir ", dir,
        " holds tokens of the HMAC era (schema 1); re-tokenize it with the "
        "custodians: ",
        kRetokenizeCommand));
  }
  if (meta->schema_version > kNodeSchemaVersion ||
      meta->schema_version < kOldestMigratedAtStart) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data_dir ", dir, " has schema version ", meta->schema_version,
        "; this release reads versions 1 to ", kNodeSchemaVersion,
        " (a newer release made it: run that release)"));
  }
  if (!meta->retokenize_epoch.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("data_dir ", dir, ": its re-tokenization to epoch \"",
                     meta->retokenize_epoch,
                     "\" was interrupted; run it again: ", kRetokenizeCommand));
  }
  if (meta->token_epoch != token_epoch) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data_dir ", dir, " holds tokens of key epoch \"", meta->token_epoch,
        "\", but the token-key bundle is of epoch \"", token_epoch,
        "\"; re-tokenize it: ", kRetokenizeCommand));
  }
  if (meta->schema_version == kNodeSchemaVersion) return absl::OkStatus();
  return MigrateNodeDatabase(
      database, meta->schema_version, now,
      [&dir](uint64_t to, const std::string& what) {
        LogInfo("storage", "schema migrated",
                {{"data_dir", dir}, {"to_version", to}, {"did", what}});
      });
}

}  // namespace

absl::StatusOr<NodeDatabaseMeta> ReadNodeDatabaseMeta(
    const Database& database) {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> meta =
      database.Family(families::kMeta);
  if (!meta.ok()) return meta.status();
  NodeDatabaseMeta read;
  std::string version;
  for (auto [key, value] :
       {std::pair(keys::kAgencyId, &read.agency_id),
        std::pair(keys::kSchemaVersion, &version),
        std::pair(keys::kTokenEpoch, &read.token_epoch),
        std::pair(keys::kRetokenizeEpoch, &read.retokenize_epoch),
        std::pair(keys::kAlertRecovery, &read.alert_recovery)}) {
    rocksdb::Status status =
        database.db()->Get(rocksdb::ReadOptions(), *meta, key, value);
    if (status.IsNotFound()) continue;
    if (absl::Status s = FromRocks(status, "read meta"); !s.ok()) return s;
  }
  if (!version.empty()) {
    std::optional<uint64_t> decoded = keys::DecodeUint64(version);
    if (!decoded) return absl::DataLossError("schema version is corrupt");
    read.schema_version = *decoded;
  }
  return read;
}

absl::StatusOr<std::unique_ptr<NodeDatabase>> NodeDatabase::Open(
    const std::string& dir, const std::string& agency_id,
    const std::string& token_epoch, const Clock& clock) {
  std::unique_ptr<NodeDatabase> node(new NodeDatabase());
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::Open(dir, NodeFamilies());
  if (!database.ok()) return database.status();
  node->database_ = *std::move(database);
  NodeDatabaseMeta meta;
  if (absl::Status s = CheckOwner(*node->database_, dir, agency_id, token_epoch,
                                  clock(), &meta);
      !s.ok()) {
    return s;
  }
  node->alert_recovery_ = meta.alert_recovery;
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
      AuditLog::Open(*node->database_, AuditKeyFile(dir));
  if (!audit.ok()) return audit.status();
  node->audit_ = *std::move(audit);
  return node;
}

NodeDatabase::~NodeDatabase() = default;

absl::Status MarkNodeDatabaseRestored(const std::string& dir,
                                      const std::string& backup) {
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::Open(dir, NodeFamilies());
  if (!database.ok()) return database.status();
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> meta =
      (*database)->Family(families::kMeta);
  if (!meta.ok()) return meta.status();
  return FromRocks((*database)->db()->Put(SyncedWrite(), *meta,
                                          keys::kAlertRecovery, backup),
                   "mark the database restored");
}

absl::Status NodeDatabase::FinishAlertRecovery(uint64_t next_cursor) {
  if (absl::Status s = alerts_->SkipTo(next_cursor); !s.ok()) return s;
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> meta =
      database_->Family(families::kMeta);
  if (!meta.ok()) return meta.status();
  if (absl::Status s = FromRocks(
          database_->db()->Delete(SyncedWrite(), *meta, keys::kAlertRecovery),
          "end the alert recovery");
      !s.ok()) {
    return s;
  }
  alert_recovery_.clear();
  return absl::OkStatus();
}

uint64_t NodeDatabase::IntProperty(const std::string& property) const {
  return database_->IntProperty(property);
}

absl::Status NodeDatabase::Probe() const { return database_->Probe(); }

}  // namespace deconfliction
