// deconflict-hub: the coordination centre's hub.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "config/command_line.h"
#include "rpc/lifecycle.h"
#include "server/hub/hub_config.h"
#include "server/hub/hub_server.h"
#include "storage/alert_outbox.h"
#include "storage/backup_command.h"

ABSL_FLAG(std::string, config, "",
          "Hub configuration file (protobuf text format, schema "
          "deconfliction.config.v1.HubConfig in "
          "api/deconfliction/config/v1/config.proto).");
ABSL_FLAG(bool, delivery_status, false,
          "Instead of serving: print the alerts waiting in the outbox for each "
          "agency and the age of the oldest (works while the hub runs).");
ABSL_FLAG(bool, check_config, false,
          "Instead of serving: check the configuration and the files it names "
          "(certificates against the CA and CRLs, keys), print the outcome "
          "and exit 0 (valid) or 2.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM or SIGINT, how long calls in progress may take to "
          "finish before they are cancelled.");

namespace deconfliction {
namespace {

int Main(int argc, char** argv) {
  deconfliction::SetUsage(
      "Serves the coordination centre's deconfliction hub over mutual TLS.\n"
      "Usage: deconflict-hub --config=hub.textproto\n"
      "       deconflict-hub --config=hub.textproto --check_config\n"
      "       deconflict-hub --config=hub.textproto --delivery_status\n"
      "       deconflict-hub --config=hub.textproto --backup_to=DIR\n"
      "       deconflict-hub --config=hub.textproto --restore_from=DIR\n"
      "Exit codes: 0 stopped by a signal (or a valid configuration, or a "
      "backup command done), 1 cannot serve (or the backup command failed), "
      "2 bad configuration or flags.",
      __FILE__, "", {BackupCommandFlagsFile()});
  StartServerLog("deconflict-hub");
  sigset_t stop = BlockStopSignals();
  KeepCreatedFilesPrivate();
  SkipMutexDeadlockDetectionInRelease();
  ParseCommandLine(argc, argv);
  std::optional<config::v1::HubConfig> config =
      ConfigFromFlag<config::v1::HubConfig>(
          "deconflict-hub", absl::GetFlag(FLAGS_config), LoadHubConfig);
  if (!config) return 2;
  if (absl::GetFlag(FLAGS_check_config)) {
    return ReportConfigCheck("deconflict-hub", absl::GetFlag(FLAGS_config),
                             HubServer::CheckFiles(*config));
  }
  if (std::optional<int> code =
          RunBackupCommand("deconflict-hub", config->data_dir(),
                           [](const std::string&, const BackupInfo&) {
                             return absl::OkStatus();
                           })) {
    return *code;
  }
  if (absl::GetFlag(FLAGS_delivery_status)) {
    absl::StatusOr<std::map<std::string, AlertOutbox::Backlog>> backlog =
        ReadBacklog(config->data_dir());
    if (!backlog.ok()) {
      std::cerr << "deconflict-hub: " << backlog.status().message() << "\n";
      return 1;
    }
    std::cout << absl::StrFormat("%-24s %10s %12s %10s %10s\n", "AGENCY",
                                 "PENDING", "OLDEST (s)", "RECHECKS",
                                 "SET ASIDE");
    for (const auto& node : config->nodes()) {
      AlertOutbox::Backlog agency = (*backlog)[node.agency_id()];
      std::cout << absl::StrFormat(
          "%-24s %10d %12s %10d %10d\n", node.agency_id(), agency.alerts,
          agency.alerts == 0 ? std::string("-")
                             : absl::StrCat(absl::ToInt64Seconds(
                                   absl::Now() - agency.oldest_alert)),
          agency.rechecks, agency.set_aside);
    }
    return 0;
  }
  return ServeUntilStopped(
      HubServer::Start(*config), absl::GetFlag(FLAGS_config), LoadHubConfig,
      config->port_file(),
      [&](const HubServer& server) {
        return absl::StrCat("serving on port ", server.port(),
                            " (mutual TLS) for ", config->nodes_size(),
                            " nodes",
                            MetricsNote(config->metrics().listen_address(),
                                        server.metrics_port()));
      },
      stop, absl::GetFlag(FLAGS_shutdown_grace));
}

}  // namespace
}  // namespace deconfliction

int main(int argc, char** argv) { return deconfliction::Main(argc, argv); }
