// deconflict-custodian: one custodian of the federation's token key.

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "config/command_line.h"
#include "rpc/lifecycle.h"
#include "server/custodian/custodian_config.h"
#include "server/custodian/custodian_server.h"

ABSL_FLAG(std::string, config, "",
          "Custodian configuration file (protobuf text format, schema "
          "deconfliction.config.v1.CustodianConfig in "
          "api/deconfliction/config/v1/config.proto).");
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
  SetUsage(
      "Serves one share of the federation's token key to the agency nodes "
      "over mutual TLS.\n"
      "Usage: deconflict-custodian --config=custodian.textproto\n"
      "       deconflict-custodian --config=custodian.textproto "
      "--check_config\n"
      "Exit codes: 0 stopped by a signal (or a valid configuration), 1 "
      "cannot serve, 2 bad configuration.",
      __FILE__);
  StartServerLog("deconflict-custodian");
  sigset_t stop = BlockStopSignals();
  KeepCreatedFilesPrivate();
  SkipMutexDeadlockDetectionInRelease();
  ParseCommandLine(argc, argv);
  std::optional<config::v1::CustodianConfig> config =
      ConfigFromFlag<config::v1::CustodianConfig>("deconflict-custodian",
                                                  absl::GetFlag(FLAGS_config),
                                                  LoadCustodianConfig);
  if (!config) return 2;
  if (absl::GetFlag(FLAGS_check_config)) {
    return ReportConfigCheck("deconflict-custodian",
                             absl::GetFlag(FLAGS_config),
                             CustodianServer::CheckFiles(*config));
  }
  return ServeUntilStopped(
      CustodianServer::Start(*config), absl::GetFlag(FLAGS_config),
      LoadCustodianConfig, config->port_file(),
      [&](const CustodianServer& server) {
        return absl::StrCat(config->name(), " serving on port ", server.port(),
                            " (mutual TLS) for ", config->agencies_size(),
                            " agencies",
                            MetricsNote(config->metrics().listen_address(),
                                        server.metrics_port()));
      },
      stop, absl::GetFlag(FLAGS_shutdown_grace));
}

}  // namespace
}  // namespace deconfliction

int main(int argc, char** argv) { return deconfliction::Main(argc, argv); }
