#include "storage/audit_log.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/digest.h"
#include "rocksdb/db.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {
namespace {

std::string DigestOf(const rocksdb::Slice& bytes) {
  return Sha256(absl::string_view(bytes.data(), bytes.size()));
}

}  // namespace

AuditLog::AuditLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                   uint64_t next_seq, std::string last_hash)
    : db_(db),
      family_(family),
      next_seq_(next_seq),
      last_hash_(std::move(last_hash)),
      syncer_(
          kAuditSyncInterval, [this] { SyncIfWritten(); },
          Periodic::AtStop::kRunOnceMore) {}

void AuditLog::SyncIfWritten() {
  {
    absl::MutexLock lock(&mu_);
    if (!unsynced_) return;
    unsynced_ = false;
  }
  // A failed sync is retried with the next interval's records.
  if (!db_->SyncWAL().ok()) {
    absl::MutexLock lock(&mu_);
    unsynced_ = true;
  }
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(
    const Database& database) {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> audit =
      database.Family(families::kAudit);
  if (!audit.ok()) return audit.status();
  rocksdb::DB* db = database.db();
  rocksdb::ColumnFamilyHandle* family = *audit;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), family));
  it->SeekToLast();
  if (absl::Status s = FromRocks(it->status(), "read audit"); !s.ok()) {
    return s;
  }
  if (!it->Valid()) {
    return std::unique_ptr<AuditLog>(new AuditLog(db, family, 1, ""));
  }
  std::optional<uint64_t> last =
      keys::DecodeUint64(absl::string_view(it->key().data(), it->key().size()));
  if (!last) return absl::DataLossError("audit key is malformed");
  return std::unique_ptr<AuditLog>(
      new AuditLog(db, family, *last + 1, DigestOf(it->value())));
}

absl::Status AuditLog::Append(storage::v1::AuditRecord record) {
  absl::MutexLock lock(&mu_);
  record.set_seq(next_seq_);
  record.set_previous_hash(last_hash_);
  std::string bytes;
  record.SerializeToString(&bytes);
  absl::Status written =
      FromRocks(db_->Put(rocksdb::WriteOptions(), family_,
                         keys::EncodeUint64(next_seq_), bytes),
                "write audit");
  if (!written.ok()) return written;
  ++next_seq_;
  last_hash_ = Sha256(bytes);
  unsynced_ = true;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> AuditLog::Export(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
    const std::function<void(const storage::v1::AuditRecord&)>& visit) {
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), family));
  std::string previous_hash;
  uint64_t count = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    storage::v1::AuditRecord record;
    if (!record.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("audit record after #", count, " is corrupt"));
    }
    if (record.previous_hash() != previous_hash ||
        keys::DecodeUint64(absl::string_view(
            it->key().data(), it->key().size())) != record.seq()) {
      return absl::DataLossError(
          absl::StrCat("audit chain broken at record #", record.seq(),
                       ": a record before it was removed or altered"));
    }
    previous_hash = DigestOf(it->value());
    visit(record);
    ++count;
  }
  if (absl::Status s = FromRocks(it->status(), "read audit"); !s.ok()) {
    return s;
  }
  return count;
}

absl::StatusOr<std::unique_ptr<AuditDatabase>> AuditDatabase::Open(
    const std::string& dir) {
  std::unique_ptr<AuditDatabase> opened(new AuditDatabase());
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::Open(dir, AuditFamilies());
  if (!database.ok()) return database.status();
  opened->database_ = *std::move(database);
  absl::StatusOr<std::unique_ptr<AuditLog>> audit =
      AuditLog::Open(*opened->database_);
  if (!audit.ok()) return audit.status();
  opened->audit_ = *std::move(audit);
  return opened;
}

AuditDatabase::~AuditDatabase() = default;

absl::StatusOr<uint64_t> ExportAudit(
    const std::string& dir,
    const std::function<void(const storage::v1::AuditRecord&)>& visit) {
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::OpenReadOnly(dir);
  if (!database.ok()) return database.status();
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> audit =
      (*database)->Family(families::kAudit);
  if (!audit.ok()) {
    return absl::NotFoundError(absl::StrCat(dir, " has no audit trail"));
  }
  return AuditLog::Export((*database)->db(), *audit, visit);
}

}  // namespace deconfliction
