// deconflict-node: an agency's deconfliction node.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/node_config.h"
#include "server/node_server.h"

ABSL_FLAG(std::string, config, "",
          "Node configuration file (protobuf text format, schema "
          "deconfliction.config.v1.NodeConfig in "
          "api/deconfliction/config/v1/config.proto).");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM or SIGINT, how long calls in progress may take to "
          "finish before they are cancelled.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves an agency's deconfliction node over mutual TLS.\n"
      "Usage: deconflict-node --config=node.textproto");
  absl::ParseCommandLine(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) {
    std::cerr << "deconflict-node: --config is required (see --help)\n";
    return 2;
  }
  absl::StatusOr<deconfliction::config::v1::NodeConfig> config =
      deconfliction::LoadNodeConfig(path);
  if (!config.ok()) {
    std::cerr << "deconflict-node: " << config.status().message() << "\n";
    return 2;
  }
  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  absl::StatusOr<std::unique_ptr<deconfliction::NodeServer>> server =
      deconfliction::NodeServer::Start(*config);
  if (!server.ok()) {
    std::cerr << "deconflict-node: " << server.status().message() << "\n";
    return 1;
  }
  if (!config->port_file().empty()) {
    std::string temp = config->port_file() + ".tmp";
    std::ofstream(temp) << (*server)->port() << "\n";
    std::rename(temp.c_str(), config->port_file().c_str());
  }
  std::cerr << "deconflict-node: agency " << config->agency_id()
            << " serving on port " << (*server)->port() << " (mutual TLS)\n";
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  std::cerr << "deconflict-node: "
            << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT")
            << ", shutting down\n";
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  return 0;
}
