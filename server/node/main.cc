// deconflict-node: an agency's deconfliction node.
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "config/command_line.h"
#include "identifiers/identifier_input.h"
#include "identifiers/token.h"
#include "rpc/lifecycle.h"
#include "server/node/node_config.h"
#include "server/node/node_server.h"

ABSL_FLAG(std::string, config, "",
          "Node configuration file (protobuf text format, schema "
          "deconfliction.config.v1.NodeConfig in "
          "api/deconfliction/config/v1/config.proto).");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM or SIGINT, how long calls in progress may take to "
          "finish before they are cancelled.");
ABSL_FLAG(std::string, tokenize_csv, "",
          "Instead of serving: print the tokens of the identifiers in this "
          "CSV (type,value), one per line in hex, for the hub's list of "
          "common identifiers. Uses the configured federation key.");

namespace deconfliction {
namespace {

// --tokenize_csv: the coordination centre's node turns its list of common
// identifiers into tokens (the hub cannot: it has no federation key).
int Tokenize(const config::v1::NodeConfig& config, const std::string& path) {
  absl::StatusOr<std::unique_ptr<HmacTokenFunction>> tokens =
      HmacTokenFunction::FromKeyFile(config.federation_key_file());
  if (!tokens.ok()) {
    std::cerr << "deconflict-node: " << tokens.status().message() << "\n";
    return 1;
  }
  std::ifstream in(path);
  if (!in) {
    std::cerr << "deconflict-node: --tokenize_csv: cannot read " << path
              << "\n";
    return 2;
  }
  IdentifierCsvReader reader(&in);
  CsvIdentifier row;
  absl::Status error;
  int failures = 0;
  while (reader.Next(&row, &error)) {
    absl::StatusOr<CanonicalIdentifier> canonical =
        error.ok() ? Canonicalize(row.identifier, {config.default_region()})
                   : absl::StatusOr<CanonicalIdentifier>(error);
    if (!canonical.ok()) {
      std::cerr << "deconflict-node: line " << row.line << ": "
                << canonical.status().message() << "\n";
      ++failures;
      continue;
    }
    std::cout << absl::BytesToHexString((*tokens)->Tokenize(*canonical))
              << "  # " << IdentifierTypeName(canonical->type) << "\n";
  }
  return failures == 0 ? 0 : 3;
}

}  // namespace
}  // namespace deconfliction

namespace deconfliction {
namespace {

int Main(int argc, char** argv) {
  deconfliction::SetUsage(
      "Serves an agency's deconfliction node over mutual TLS.\n"
      "Usage: deconflict-node --config=node.textproto\n"
      "       deconflict-node --config=node.textproto --tokenize_csv=FILE",
      __FILE__);
  sigset_t stop = BlockStopSignals();
  absl::ParseCommandLine(argc, argv);
  std::optional<config::v1::NodeConfig> config =
      ConfigFromFlag<config::v1::NodeConfig>(
          "deconflict-node", absl::GetFlag(FLAGS_config), LoadNodeConfig);
  if (!config) return 2;
  if (!absl::GetFlag(FLAGS_tokenize_csv).empty()) {
    return Tokenize(*config, absl::GetFlag(FLAGS_tokenize_csv));
  }
  return ServeUntilStopped(
      "deconflict-node", NodeServer::Start(*config), config->port_file(),
      [&](int port) {
        return absl::StrCat(
            "agency ", config->agency_id(), " serving on port ", port,
            " (mutual TLS",
            config->has_hub()
                ? absl::StrCat(", federated through ", config->hub().address())
                : std::string(", local only"),
            ")");
      },
      stop, absl::GetFlag(FLAGS_shutdown_grace));
}

}  // namespace
}  // namespace deconfliction

int main(int argc, char** argv) { return deconfliction::Main(argc, argv); }
