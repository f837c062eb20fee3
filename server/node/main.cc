// deconflict-node: an agency's deconfliction node.
#include <fstream>
#include <iostream>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/hits.h"
#include "config/command_line.h"
#include "identifiers/identifier_input.h"
#include "rpc/lifecycle.h"
#include "server/node/node_config.h"
#include "server/node/node_server.h"
#include "server/node/node_tokens.h"
#include "storage/backup_command.h"
#include "storage/node_database.h"
#include "storage/token_migration.h"

ABSL_FLAG(std::string, config, "",
          "Node configuration file (protobuf text format, schema "
          "deconfliction.config.v1.NodeConfig in "
          "api/deconfliction/config/v1/config.proto).");
ABSL_FLAG(bool, check_config, false,
          "Instead of serving: check the configuration and the files it names "
          "(certificates against the CA and CRLs, keys), print the outcome "
          "and exit 0 (valid) or 2.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM or SIGINT, how long calls in progress may take to "
          "finish before they are cancelled.");
ABSL_FLAG(std::string, tokenize_csv, "",
          "Instead of serving: print the tokens of the identifiers in this "
          "CSV (type,value), one per line in hex, for the hub's list of "
          "common identifiers. Asks the configured custodians.");

ABSL_FLAG(bool, retokenize, false,
          "Instead of serving: make every token of the node's database again "
          "with the configured custodians, for the token-key bundle's epoch "
          "(after a new epoch, or from the HMAC era). Shows its progress; "
          "after an interruption, run it again and it continues.");

namespace deconfliction {
namespace {

// Identifiers per call to the custodians for --tokenize_csv.
constexpr size_t kTokenizeBatch = 1000;

// Prints the tokens of `rows` (hex, with the type as a comment); false
// when the custodians did not tokenize them all.
bool PrintTokens(const NodeTokens& tokens,
                 const std::vector<CanonicalIdentifier>& rows,
                 absl::Duration timeout) {
  TokenBatch batch =
      tokens.tokenizer().TokenizeAndWait(rows, absl::Now() + timeout);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (batch.tokens[i].empty()) {
      std::cerr << "deconflict-node: the custodians did not answer: "
                << DescribeUnanswered(batch.unanswered) << "\n";
      return false;
    }
    std::cout << absl::BytesToHexString(batch.tokens[i]) << "  # "
              << IdentifierTypeName(rows[i].type) << "\n";
  }
  return true;
}

// --tokenize_csv: the coordination centre's node turns its list of common
// identifiers into tokens, with the custodians (the hub cannot: it holds
// no share of the token key).
int Tokenize(const config::v1::NodeConfig& config, const std::string& path) {
  // The registry outlives the queue: a custodian's late answer, run on the
  // queue while it drains, still counts into it.
  MetricsRegistry unserved;
  WorkQueue completions(1, 16);
  absl::StatusOr<std::unique_ptr<NodeTokens>> tokens =
      NodeTokens::Create(config, &completions, &unserved);
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
  const absl::Duration timeout =
      absl::Milliseconds(config.token_key().timeout_ms());
  IdentifierCsvReader reader(&in);
  CsvIdentifier row;
  absl::Status error;
  int failures = 0;
  std::vector<CanonicalIdentifier> rows;
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
    rows.push_back(*std::move(canonical));
    if (rows.size() == kTokenizeBatch) {
      if (!PrintTokens(**tokens, rows, timeout)) return 1;
      rows.clear();
    }
  }
  if (!rows.empty() && !PrintTokens(**tokens, rows, timeout)) return 1;
  return failures == 0 ? 0 : 3;
}

// --retokenize: the node's database, to the bundle's epoch.
int Retokenize(const config::v1::NodeConfig& config) {
  MetricsRegistry unserved;  // outlives the queue, as in Tokenize
  WorkQueue completions(2, 16);
  absl::StatusOr<std::unique_ptr<NodeTokens>> tokens =
      NodeTokens::Create(config, &completions, &unserved);
  if (!tokens.ok()) {
    std::cerr << "deconflict-node: " << tokens.status().message() << "\n";
    return 1;
  }
  const absl::Duration timeout =
      absl::Milliseconds(config.token_key().timeout_ms());
  const std::string& epoch = (*tokens)->tokenizer().epoch();
  std::cerr << "deconflict-node: re-tokenizing " << config.data_dir()
            << " to key epoch " << epoch << "\n";
  absl::Status done = RetokenizeNodeDatabase(
      config.data_dir(), config.agency_id(), epoch, kTokenizeBatch,
      [&](const std::vector<CanonicalIdentifier>& identifiers)
          -> absl::StatusOr<std::vector<std::string>> {
        TokenBatch batch = (*tokens)->tokenizer().TokenizeAndWait(
            identifiers, absl::Now() + timeout);
        if (!batch.unanswered.empty()) {
          return absl::UnavailableError(
              absl::StrCat("the custodians did not answer: ",
                           DescribeUnanswered(batch.unanswered)));
        }
        return std::move(batch.tokens);
      },
      [](const RetokenizeProgress& progress) {
        std::cerr << "deconflict-node: " << progress.entries_done
                  << " entries re-tokenized (about "
                  << progress.entries_estimated << " in all)\n";
      });
  if (!done.ok()) {
    std::cerr << "deconflict-node: re-tokenization stopped: " << done.message()
              << "\nRun the same command again to continue.\n";
    return 1;
  }
  std::cerr << "deconflict-node: the database holds tokens of epoch " << epoch
            << "; the node can serve\n";
  return 0;
}

}  // namespace
}  // namespace deconfliction

namespace deconfliction {
namespace {

int Main(int argc, char** argv) {
  deconfliction::SetUsage(
      "Serves an agency's deconfliction node over mutual TLS.\n"
      "Usage: deconflict-node --config=node.textproto\n"
      "       deconflict-node --config=node.textproto --tokenize_csv=FILE\n"
      "       deconflict-node --config=node.textproto --retokenize\n"
      "       deconflict-node --config=node.textproto --check_config\n"
      "       deconflict-node --config=node.textproto --backup_to=DIR\n"
      "       deconflict-node --config=node.textproto --restore_from=DIR\n"
      "Exit codes: 0 stopped by a signal (or a valid configuration, or a "
      "backup command done), 1 cannot serve (or the backup command failed), "
      "2 bad configuration or flags.",
      __FILE__, absl::StrCat("node database schema ", kNodeSchemaVersion),
      {BackupCommandFlagsFile()});
  StartServerLog("deconflict-node");
  sigset_t stop = BlockStopSignals();
  KeepCreatedFilesPrivate();
  SkipMutexDeadlockDetectionInRelease();
  ParseCommandLine(argc, argv);
  std::optional<config::v1::NodeConfig> config =
      ConfigFromFlag<config::v1::NodeConfig>(
          "deconflict-node", absl::GetFlag(FLAGS_config), LoadNodeConfig);
  if (!config) return 2;
  if (absl::GetFlag(FLAGS_check_config)) {
    return ReportConfigCheck("deconflict-node", absl::GetFlag(FLAGS_config),
                             NodeServer::CheckFiles(*config));
  }
  if (!absl::GetFlag(FLAGS_tokenize_csv).empty()) {
    return Tokenize(*config, absl::GetFlag(FLAGS_tokenize_csv));
  }
  if (absl::GetFlag(FLAGS_retokenize)) return Retokenize(*config);
  if (std::optional<int> code = RunBackupCommand(
          "deconflict-node", config->data_dir(),
          [](const std::string& dir, const BackupInfo& backup) {
            return MarkNodeDatabaseRestored(dir, DescribeBackup(backup));
          })) {
    return *code;
  }
  return ServeUntilStopped(
      NodeServer::Start(*config), absl::GetFlag(FLAGS_config), LoadNodeConfig,
      config->port_file(),
      [&](const NodeServer& server) {
        return absl::StrCat(
            "agency ", config->agency_id(), " serving on port ", server.port(),
            " (mutual TLS",
            config->has_hub()
                ? absl::StrCat(", federated through ", config->hub().address())
                : std::string(", local only"),
            ")",
            MetricsNote(config->metrics().listen_address(),
                        server.metrics_port()));
      },
      stop, absl::GetFlag(FLAGS_shutdown_grace));
}

}  // namespace
}  // namespace deconfliction

int main(int argc, char** argv) { return deconfliction::Main(argc, argv); }
