// The backup commands every server with a database shares (node, hub):
//   --backup_to=DIR [--keep_backups=N]   online backup of data_dir
//   --restore_from=DIR [--backup_id=N]   restore, with the server stopped
//   --list_backups=DIR                   what DIR holds
// (storage/backups.h). Each prints its outcome and exits: 0 done, 1 failed,
// 2 bad flags.
#ifndef DECONFLICTION_STORAGE_BACKUP_COMMAND_H_
#define DECONFLICTION_STORAGE_BACKUP_COMMAND_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "storage/backups.h"

namespace deconfliction {

// The file defining the backup flags, for --help (config/command_line.h).
const char* BackupCommandFlagsFile();

// Runs the backup command the flags ask for, printing as `program`; its
// exit code, or nullopt when no backup flag was given. `prepare` as for
// Restore.
std::optional<int> RunBackupCommand(
    absl::string_view program, const std::string& data_dir,
    const std::function<absl::Status(const std::string& dir,
                                     const BackupInfo& backup)>& prepare);

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_BACKUP_COMMAND_H_
