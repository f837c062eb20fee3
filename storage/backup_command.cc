#include "storage/backup_command.h"

#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"

ABSL_FLAG(std::string, backup_to, "",
          "Instead of serving: back up data_dir into this directory while the "
          "server runs (incremental and checksummed; keep it on another "
          "disk), keep the newest --keep_backups, print what was made and "
          "exit 0, or 1 on failure.");
ABSL_FLAG(uint32_t, keep_backups, 7,
          "With --backup_to: how many backups to keep (the oldest go).");
ABSL_FLAG(std::string, restore_from, "",
          "Instead of serving, with the server stopped: replace data_dir by a "
          "backup from this directory (the newest, or --backup_id), after "
          "verifying its checksums; the data_dir it replaces is kept beside "
          "it, renamed. A node then recovers from the hub the alerts "
          "delivered to it since the backup.");
ABSL_FLAG(uint32_t, backup_id, 0,
          "With --restore_from: the backup to restore (--list_backups shows "
          "them); 0 for the newest.");
ABSL_FLAG(std::string, list_backups, "",
          "Instead of serving: list the backups in this directory and exit.");

namespace deconfliction {

const char* BackupCommandFlagsFile() { return __FILE__; }

std::optional<int> RunBackupCommand(
    absl::string_view program, const std::string& data_dir,
    const std::function<absl::Status(const std::string& dir,
                                     const BackupInfo& backup)>& prepare) {
  const std::string backup_to = absl::GetFlag(FLAGS_backup_to);
  const std::string restore_from = absl::GetFlag(FLAGS_restore_from);
  const std::string list = absl::GetFlag(FLAGS_list_backups);
  const int given = !backup_to.empty() + !restore_from.empty() + !list.empty();
  if (given == 0) return std::nullopt;
  if (given > 1) {
    std::cerr << program
              << ": --backup_to, --restore_from and --list_backups exclude "
                 "each other\n";
    return 2;
  }
  if (!backup_to.empty()) {
    absl::StatusOr<BackupInfo> made =
        BackUp(data_dir, backup_to, absl::GetFlag(FLAGS_keep_backups));
    if (!made.ok()) {
      std::cerr << program << ": backup failed: " << made.status().message()
                << "\n";
      return 1;
    }
    std::cout << absl::StrFormat("%s: %s of %s in %s: %d files, %d bytes\n",
                                 program, DescribeBackup(*made), data_dir,
                                 backup_to, made->files, made->bytes);
    return 0;
  }
  if (!list.empty()) {
    absl::StatusOr<std::vector<BackupInfo>> backups = ListBackups(list);
    if (!backups.ok()) {
      std::cerr << program << ": " << backups.status().message() << "\n";
      return 1;
    }
    for (const BackupInfo& backup : *backups) {
      std::cout << absl::StrFormat("%s: %d files, %d bytes\n",
                                   DescribeBackup(backup), backup.files,
                                   backup.bytes);
    }
    return 0;
  }
  absl::StatusOr<RestoredBackup> restored =
      Restore(restore_from, absl::GetFlag(FLAGS_backup_id), data_dir, prepare);
  if (!restored.ok()) {
    std::cerr << program << ": restore failed: " << restored.status().message()
              << "\n";
    return 1;
  }
  std::cout << program << ": restored " << DescribeBackup(restored->backup)
            << " as " << data_dir << "\n";
  if (!restored->replaced_dir.empty()) {
    std::cout << program << ": the data_dir it replaced is kept as "
              << restored->replaced_dir << " (delete it when done)\n";
  }
  return 0;
}

}  // namespace deconfliction
