// The CLI's commands. Each takes its parsed options and positional
// arguments, prints to `out` (results) and `err` (progress, errors), and
// returns an ExitCode (client/exit_codes.h).
#ifndef DECONFLICTION_CLIENT_COMMANDS_H_
#define DECONFLICTION_CLIENT_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "client/exit_codes.h"
#include "client/node_client.h"

namespace deconfliction {

struct CliOptions {
  bool json = false;
  bool progress = false;  // draw a progress bar on `err`
  // `out` is a terminal: a line per result there; piped, only --json gives
  // them, else the summary alone.
  bool terminal = false;
  std::string region;
  std::string observed;  // START/END for time-bound identifiers
  // register / import
  std::string case_ref;
  v1::Contact contact;
  std::string caveat;
  std::string sharing;  // pointer | pointer_with_case_ref | silent
  std::string expires;  // YYYY-MM-DD or RFC 3339
  uint32_t batch_size = 500;
  bool skip_invalid = false;
  // check --file, import: the first line of the file to use (resuming).
  int from_line = 1;
  // check --file: over the per-minute cap, wait for the next minute.
  bool wait_for_cap = true;
  // check
  std::string file;
  absl::Duration bulk_deadline = absl::Hours(1);
  // close / cases
  std::string reason;
  bool include_closed = false;
  // watch
  int64_t after = -1;  // -1: from the cursor file, else 0
  std::string cursor_file;
  uint64_t max_alerts = 0;  // 0: no limit
  absl::Duration watch_for = absl::InfiniteDuration();
};

struct CommandIo {
  std::ostream& out;
  std::ostream& err;
};

ExitCode RunRegister(NodeClient& node, const CliOptions& options,
                     const std::vector<std::string>& args, CommandIo io);
ExitCode RunCheck(NodeClient& node, const CliOptions& options,
                  const std::vector<std::string>& args, CommandIo io);
ExitCode RunImport(NodeClient& node, const CliOptions& options,
                   const std::vector<std::string>& args, CommandIo io);
ExitCode RunClose(NodeClient& node, const CliOptions& options,
                  const std::vector<std::string>& args, CommandIo io);
ExitCode RunCases(NodeClient& node, const CliOptions& options,
                  const std::vector<std::string>& args, CommandIo io);
ExitCode RunWatch(NodeClient& node, const CliOptions& options,
                  const std::vector<std::string>& args, CommandIo io);
ExitCode RunAcknowledge(NodeClient& node, const CliOptions& options,
                        const std::vector<std::string>& args, CommandIo io);
ExitCode RunAlerts(NodeClient& node, const CliOptions& options,
                   const std::vector<std::string>& args, CommandIo io);

}  // namespace deconfliction

#endif  // DECONFLICTION_CLIENT_COMMANDS_H_
