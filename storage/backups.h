// Backups of a server's data directory (its RocksDB database and its audit
// key) into a backup directory kept by RocksDB's BackupEngine: backups are
// incremental (table files are shared between them) and checksummed.
//
// BackUp runs while the server serves: it opens the database read-only and
// copies what had been synced when it began (a point in time; the WAL is
// copied, no flush is needed). Restore needs the server stopped: it
// refuses a data directory whose database another process holds. It
// restores into a fresh directory, lets the caller prepare it, then puts it
// in place; the directory it replaces is kept beside it, renamed.
#ifndef DECONFLICTION_STORAGE_BACKUPS_H_
#define DECONFLICTION_STORAGE_BACKUPS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace deconfliction {

struct BackupInfo {
  uint32_t id = 0;
  absl::Time taken_at;
  uint64_t bytes = 0;  // of this backup, shared files included
  uint32_t files = 0;
};

// "backup N of <time>", as restored databases record it.
std::string DescribeBackup(const BackupInfo& backup);

// Backs up `data_dir` into `backup_dir` (created private when missing),
// keeping the newest `keep` backups (at least 1). FAILED_PRECONDITION when
// `data_dir` holds no database or `backup_dir` holds another server's
// backups (another audit key); UNAVAILABLE when copying fails (tried 3
// times: the server may delete a file while it is copied).
absl::StatusOr<BackupInfo> BackUp(const std::string& data_dir,
                                  const std::string& backup_dir, uint32_t keep);

// The backups in `backup_dir`, oldest first. NOT_FOUND when it holds none.
absl::StatusOr<std::vector<BackupInfo>> ListBackups(
    const std::string& backup_dir);

struct RestoredBackup {
  BackupInfo backup;
  // Where the data directory that was in place went; empty if none was.
  std::string replaced_dir;
};

// Restores backup `id` (0: the newest) of `backup_dir` as `data_dir`,
// verifying its checksums. `prepare` runs on the restored database's
// directory, closed, before it takes `data_dir`'s place (a node marks it
// for alert recovery); its error stops the restore and leaves `data_dir`
// as it was. FAILED_PRECONDITION when a process holds `data_dir`'s
// database; NOT_FOUND for a missing backup; DATA_LOSS when a file does not
// match its checksum.
absl::StatusOr<RestoredBackup> Restore(
    const std::string& backup_dir, uint32_t id, const std::string& data_dir,
    const std::function<absl::Status(const std::string& dir,
                                     const BackupInfo& backup)>& prepare);

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_BACKUPS_H_
