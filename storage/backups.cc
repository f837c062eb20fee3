#include "storage/backups.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/env.h"
#include "rocksdb/utilities/backup_engine.h"
#include "storage/audit_log.h"
#include "storage/database.h"

namespace deconfliction {
namespace {

constexpr int kBackupAttempts = 3;

BackupInfo FromRocksInfo(const rocksdb::BackupInfo& info) {
  BackupInfo backup;
  backup.id = info.backup_id;
  backup.taken_at = absl::FromUnixSeconds(info.timestamp);
  backup.bytes = info.size;
  backup.files = info.number_files;
  return backup;
}

absl::StatusOr<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Copies the file `from` to `to`, private (mode 0600).
absl::Status CopyPrivate(const std::string& from, const std::string& to) {
  absl::StatusOr<std::string> bytes = ReadWhole(from);
  if (!bytes.ok()) return bytes.status();
  {
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    out << *bytes;
    if (!out.flush()) {
      return absl::UnavailableError(absl::StrCat("cannot write ", to));
    }
  }
  chmod(to.c_str(), 0600);
  return absl::OkStatus();
}

// The backup directory's copy of the audit key: the server's key, the same
// for every backup of one server.
absl::Status KeepAuditKey(const std::string& data_dir,
                          const std::string& backup_dir) {
  const std::string key = AuditKeyFile(data_dir);
  const std::string kept = AuditKeyFile(backup_dir);
  if (!std::filesystem::exists(key)) return absl::OkStatus();
  if (!std::filesystem::exists(kept)) return CopyPrivate(key, kept);
  absl::StatusOr<std::string> ours = ReadWhole(key);
  absl::StatusOr<std::string> theirs = ReadWhole(kept);
  if (!ours.ok()) return ours.status();
  if (!theirs.ok()) return theirs.status();
  if (*ours != *theirs) {
    return absl::FailedPreconditionError(
        absl::StrCat("backup_dir ", backup_dir,
                     " holds another server's backups (another audit key); "
                     "give each server a backup directory of its own"));
  }
  return absl::OkStatus();
}

// Opens `backup_dir`'s backups read-only and lists them, oldest first.
// NOT_FOUND when it holds none.
absl::StatusOr<std::unique_ptr<rocksdb::BackupEngineReadOnly>> OpenBackups(
    const std::string& backup_dir, std::vector<BackupInfo>* backups) {
  if (!std::filesystem::exists(backup_dir)) {
    return absl::NotFoundError(absl::StrCat(backup_dir, " does not exist"));
  }
  rocksdb::BackupEngineReadOnly* raw_engine = nullptr;
  rocksdb::IOStatus opened = rocksdb::BackupEngineReadOnly::Open(
      rocksdb::Env::Default(), rocksdb::BackupEngineOptions(backup_dir),
      &raw_engine);
  if (!opened.ok()) {
    return FromRocks(opened, absl::StrCat("open backups in ", backup_dir));
  }
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw_engine);
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  if (infos.empty()) {
    return absl::NotFoundError(absl::StrCat(backup_dir, " holds no backup"));
  }
  backups->clear();
  backups->reserve(infos.size());
  for (const rocksdb::BackupInfo& info : infos) {
    backups->push_back(FromRocksInfo(info));
  }
  return engine;
}

}  // namespace

std::string DescribeBackup(const BackupInfo& backup) {
  return absl::StrCat("backup ", backup.id, " of ",
                      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", backup.taken_at,
                                       absl::UTCTimeZone()));
}

absl::StatusOr<BackupInfo> BackUp(const std::string& data_dir,
                                  const std::string& backup_dir,
                                  uint32_t keep) {
  std::error_code error;
  const std::filesystem::path data =
      std::filesystem::weakly_canonical(data_dir, error);
  const std::filesystem::path backups =
      std::filesystem::weakly_canonical(backup_dir, error);
  if (absl::StartsWith(backups.string() + "/", data.string() + "/")) {
    return absl::InvalidArgumentError(
        "backup_to: must not be inside data_dir (a lost disk would take "
        "both)");
  }
  std::filesystem::create_directories(backup_dir, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat(
        "backup_to: cannot create ", backup_dir, ": ", error.message()));
  }
  if (absl::Status s = KeepAuditKey(data_dir, backup_dir); !s.ok()) return s;
  rocksdb::BackupEngine* raw_engine = nullptr;
  rocksdb::IOStatus opened = rocksdb::BackupEngine::Open(
      rocksdb::Env::Default(), rocksdb::BackupEngineOptions(backup_dir),
      &raw_engine);
  if (!opened.ok()) {
    return FromRocks(opened, absl::StrCat("open backups in ", backup_dir));
  }
  std::unique_ptr<rocksdb::BackupEngine> engine(raw_engine);
  rocksdb::IOStatus made;
  for (int attempt = 0; attempt < kBackupAttempts; ++attempt) {
    absl::StatusOr<std::unique_ptr<Database>> database =
        Database::OpenReadOnly(data_dir);
    if (!database.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("data_dir: ", database.status().message()));
    }
    made = engine->CreateNewBackup((*database)->db(),
                                   /*flush_before_backup=*/false);
    if (made.ok()) break;
  }
  if (!made.ok()) {
    return absl::UnavailableError(absl::StrCat("backup of ", data_dir,
                                               " failed ", kBackupAttempts,
                                               " times: ", made.ToString()));
  }
  if (absl::Status s = FromRocks(engine->PurgeOldBackups(std::max(keep, 1u)),
                                 "delete old backups");
      !s.ok()) {
    return s;
  }
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  if (infos.empty()) return absl::InternalError("the backup is not listed");
  return FromRocksInfo(infos.back());
}

absl::StatusOr<std::vector<BackupInfo>> ListBackups(
    const std::string& backup_dir) {
  std::vector<BackupInfo> backups;
  absl::StatusOr<std::unique_ptr<rocksdb::BackupEngineReadOnly>> engine =
      OpenBackups(backup_dir, &backups);
  if (!engine.ok()) return engine.status();
  return backups;
}

absl::StatusOr<RestoredBackup> Restore(
    const std::string& backup_dir, uint32_t id, const std::string& data_dir,
    const std::function<absl::Status(const std::string& dir,
                                     const BackupInfo& backup)>& prepare) {
  rocksdb::Env* env = rocksdb::Env::Default();
  if (std::filesystem::exists(data_dir + "/CURRENT")) {
    rocksdb::FileLock* lock = nullptr;
    if (!env->LockFile(data_dir + "/LOCK", &lock).ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("data_dir ", data_dir,
                       " is in use by a running server: stop it first"));
    }
    env->UnlockFile(lock).PermitUncheckedError();
  }
  std::vector<BackupInfo> backups;
  absl::StatusOr<std::unique_ptr<rocksdb::BackupEngineReadOnly>> opened =
      OpenBackups(backup_dir, &backups);
  if (!opened.ok()) return opened.status();
  rocksdb::BackupEngineReadOnly* engine = opened->get();
  RestoredBackup restored;
  restored.backup = backups.back();
  if (id != 0) {
    bool found = false;
    for (const BackupInfo& backup : backups) {
      if (backup.id == id) {
        restored.backup = backup;
        found = true;
      }
    }
    if (!found) {
      return absl::NotFoundError(
          absl::StrCat("backup_id: ", backup_dir, " holds no backup ", id));
    }
  }
  if (rocksdb::IOStatus verified = engine->VerifyBackup(
          restored.backup.id, /*verify_with_checksum=*/true);
      !verified.ok()) {
    return absl::DataLossError(absl::StrCat(
        DescribeBackup(restored.backup), " is damaged: ", verified.ToString()));
  }
  const std::string staging = data_dir + ".restoring";
  std::error_code error;
  std::filesystem::remove_all(staging, error);
  if (absl::Status s = FromRocks(
          engine->RestoreDBFromBackup(restored.backup.id, staging, staging),
          absl::StrCat("restore ", DescribeBackup(restored.backup)));
      !s.ok()) {
    return s;
  }
  chmod(staging.c_str(), 0700);
  if (std::filesystem::exists(AuditKeyFile(backup_dir))) {
    if (absl::Status s =
            CopyPrivate(AuditKeyFile(backup_dir), AuditKeyFile(staging));
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = prepare(staging, restored.backup); !s.ok()) return s;
  if (std::filesystem::exists(data_dir)) {
    restored.replaced_dir = absl::StrCat(
        data_dir, ".before-restore-",
        absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone()));
    std::filesystem::rename(data_dir, restored.replaced_dir, error);
    if (error) {
      return absl::UnavailableError(
          absl::StrCat("cannot move ", data_dir, " aside: ", error.message()));
    }
  }
  std::filesystem::rename(staging, data_dir, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot put the restored database in place as ", data_dir,
                     ": ", error.message(), " (it is in ", staging, ")"));
  }
  return restored;
}

}  // namespace deconfliction
