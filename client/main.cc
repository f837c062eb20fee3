// deconflict: the investigator's command-line client. It talks only to its
// own agency's node, over mutual TLS.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "client/exit_codes.h"
#include "client/node_client.h"
#include "config/command_line.h"
#include "config/server_fields.h"
#include "config/text_proto.h"

ABSL_FLAG(std::string, profile, "",
          "Connection profile (text format, deconfliction.config.v1."
          "ClientProfile; relative paths in it are read from its own "
          "directory; docs/cli.md). Default: $DECONFLICT_PROFILE, else "
          "~/.config/deconflict/profile.textproto if it exists.");
ABSL_FLAG(std::string, node, "", "Node address host:port (overrides profile).");
ABSL_FLAG(std::string, federation, "", "Federation name (overrides profile).");
ABSL_FLAG(std::string, agency, "",
          "Your agency id; the node must prove it is this agency's node.");
ABSL_FLAG(std::string, cert, "", "Your certificate (PEM).");
ABSL_FLAG(std::string, key, "", "Your private key (PEM).");
ABSL_FLAG(std::string, ca, "", "The federation CA bundle (PEM).");
ABSL_FLAG(uint32_t, deadline, 0, "Seconds each call may take (default 10).");
ABSL_FLAG(std::string, region, "",
          "Region for national phone numbers (ISO 3166-1, e.g. CA); the "
          "node's default when empty.");
ABSL_FLAG(bool, json, false,
          "Print JSON (one document per line) instead of text.");
ABSL_FLAG(std::string, observed, "",
          "START/END (RFC 3339) when IP addresses or P2P GUIDs on the command "
          "line were seen, e.g. 2026-11-01T10:00:00Z/2026-11-01T12:00:00Z.");
ABSL_FLAG(std::string, case, "", "register/import: your case reference.");
ABSL_FLAG(std::string, contact_name, "",
          "register/import: whom other agencies should call.");
ABSL_FLAG(std::string, contact_phone, "", "register/import: contact phone.");
ABSL_FLAG(std::string, contact_email, "", "register/import: contact e-mail.");
ABSL_FLAG(std::string, contact_unit, "", "register/import: contact's unit.");
ABSL_FLAG(std::string, caveat, "",
          "register/import: handling caveat shown with every hit.");
ABSL_FLAG(std::string, sharing, "",
          "register/import: pointer (default), pointer_with_case_ref, or "
          "silent.");
ABSL_FLAG(std::string, expires, "",
          "register/import: when the entries stop matching (YYYY-MM-DD or "
          "RFC 3339); the node's retention when empty.");
ABSL_FLAG(uint32_t, batch_size, 500,
          "import, check --file: identifiers per request (at most the node's "
          "limit, 1000 by default).");
ABSL_FLAG(bool, skip_invalid, false,
          "import: register the valid rows even if some are rejected.");
ABSL_FLAG(int32_t, from_line, 1,
          "import, check --file: start at this line of the file (the summary "
          "of an interrupted job names it).");
ABSL_FLAG(bool, wait_for_cap, true,
          "check --file: when the agency is over its per-minute cap at the "
          "hub, wait for the next minute and go on (false: stop there, exit "
          "8, with the line to resume from).");
ABSL_FLAG(std::string, file, "",
          "check: a CSV of identifiers, streamed through bulk checking.");
ABSL_FLAG(uint32_t, bulk_deadline, 3600,
          "check --file: seconds the whole bulk job may take.");
ABSL_FLAG(std::string, reason, "", "close: why the case is closed.");
ABSL_FLAG(bool, include_closed, false, "cases: list closed cases too.");
ABSL_FLAG(int64_t, after, -1,
          "watch: show alerts after this cursor (default: the cursor file's, "
          "else from the first).");
ABSL_FLAG(std::string, cursor_file, "",
          "watch: where the last alert's cursor is kept, so that the next "
          "watch resumes after it.");
ABSL_FLAG(uint64_t, max_alerts, 0, "watch: stop after this many (0: never).");
ABSL_FLAG(uint32_t, watch_seconds, 0,
          "watch: stop after this long (0: never).");

namespace {

constexpr char kUsage[] =
    R"(Deconfliction client: is this identifier already under investigation?

Usage: deconflict [flags] COMMAND [ARGS]

Commands:
  check TYPE:VALUE...       Is anyone working on these identifiers?
  check --file=IDS.csv      The same for a file, of any size (bulk).
  register --case=REF --contact_name=NAME --contact_phone=PHONE TYPE:VALUE...
                            Record identifiers of your investigation; shows
                            who else holds them.
  import --case=REF --contact_name=... FILE.csv
                            Register a CSV of identifiers (type,value[,start,
                            end]); every row is validated before any is sent.
  close [--reason=TEXT] CASE_REF
                            Close a case: its identifiers stop matching.
  cases [--include_closed] [CASE_REF]
                            List your agency's cases, or show one in full.
  watch [--cursor_file=F]   Print match alerts as they come (past ones
                            first), resuming after the cursor in F.
  ack ALERT_ID...           Acknowledge alerts.
  alerts                    Delivery state: your alert log, and alerts
                            waiting at the hub for your agency.

Identifier types: phone, email, ip, username (platform:handle), crypto
(chain:address), hash, imei, mac, p2p, person (name;YYYY-MM-DD), plate
(jurisdiction:plate, the jurisdiction an ISO 3166 code: GB, CA-ON). Example:
  deconflict check phone:"613 555 0100" email:someone@example.com

Exit codes: 0 no hit (every node answered) or done; 1 hit; 2 usage error;
3 input rejected; 4 answer incomplete (no hit among the nodes that
answered); 5 not authorized (this certificate is refused: not permitted,
revoked, expired, or of another CA); 6 node unavailable or timed out; 7
case not found or closed; 8 over the agency's query cap (a bulk job says
which line to resume from with --from_line).

Bulk jobs (check --file, import) print a line per hit only on a terminal
or with --json; piped, they print the summary. Text from the node is
printed with control characters escaped (\x1b).

Connection settings come from a profile (--profile) and these flags.)";

std::string DefaultProfilePath() {
  if (const char* env = std::getenv("DECONFLICT_PROFILE")) return env;
  if (const char* home = std::getenv("HOME")) {
    std::string path =
        absl::StrCat(home, "/.config/deconflict/profile.textproto");
    if (std::filesystem::exists(path)) return path;
  }
  return "";
}

void Override(std::string* field, const std::string& flag) {
  if (!flag.empty()) *field = flag;
}

}  // namespace

namespace deconfliction {
namespace {

int Main(int argc, char** argv) {
  SetUsage(kUsage, __FILE__);
  std::vector<char*> positional = ParseCommandLine(argc, argv);
  CommandIo io{std::cout, std::cerr};
  if (positional.size() < 2 || std::string(positional[1]) == "help") {
    std::cerr << kUsage << "\n\nRun deconflict --help for every flag.\n";
    return positional.size() < 2 ? kExitUsage : kExitOk;
  }
  const std::string command = positional[1];
  std::vector<std::string> args(positional.begin() + 2, positional.end());

  config::v1::ClientProfile profile;
  std::string profile_path = absl::GetFlag(FLAGS_profile);
  if (profile_path.empty()) profile_path = DefaultProfilePath();
  if (!profile_path.empty()) {
    if (absl::Status s = LoadTextProto(profile_path, &profile); !s.ok()) {
      std::cerr << "deconflict: profile: " << s.message() << "\n";
      return kExitUsage;
    }
    // As in the servers' configurations: the profile's relative paths are
    // read from its own directory (the flags' from the current one).
    ResolveAgainst(profile_path, TlsPaths(profile.mutable_tls()));
  }
  Override(profile.mutable_node_address(), absl::GetFlag(FLAGS_node));
  Override(profile.mutable_federation(), absl::GetFlag(FLAGS_federation));
  Override(profile.mutable_agency_id(), absl::GetFlag(FLAGS_agency));
  Override(profile.mutable_tls()->mutable_cert_file(),
           absl::GetFlag(FLAGS_cert));
  Override(profile.mutable_tls()->mutable_key_file(), absl::GetFlag(FLAGS_key));
  Override(profile.mutable_tls()->mutable_ca_file(), absl::GetFlag(FLAGS_ca));
  Override(profile.mutable_default_region(), absl::GetFlag(FLAGS_region));
  if (absl::GetFlag(FLAGS_deadline) != 0) {
    profile.set_deadline_seconds(absl::GetFlag(FLAGS_deadline));
  }
  if (absl::Status s = ValidateProfile(&profile); !s.ok()) {
    std::cerr << "deconflict: " << s.message() << "\n";
    return kExitUsage;
  }

  CliOptions options;
  options.json = absl::GetFlag(FLAGS_json);
  options.progress = isatty(STDERR_FILENO) != 0;
  options.terminal = isatty(STDOUT_FILENO) != 0;
  options.region = profile.default_region();
  options.observed = absl::GetFlag(FLAGS_observed);
  options.case_ref = absl::GetFlag(FLAGS_case);
  options.contact.set_name(absl::GetFlag(FLAGS_contact_name));
  options.contact.set_phone(absl::GetFlag(FLAGS_contact_phone));
  options.contact.set_email(absl::GetFlag(FLAGS_contact_email));
  options.contact.set_unit(absl::GetFlag(FLAGS_contact_unit));
  options.caveat = absl::GetFlag(FLAGS_caveat);
  options.sharing = absl::GetFlag(FLAGS_sharing);
  options.expires = absl::GetFlag(FLAGS_expires);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.skip_invalid = absl::GetFlag(FLAGS_skip_invalid);
  options.from_line = absl::GetFlag(FLAGS_from_line);
  options.wait_for_cap = absl::GetFlag(FLAGS_wait_for_cap);
  options.file = absl::GetFlag(FLAGS_file);
  options.bulk_deadline = absl::Seconds(absl::GetFlag(FLAGS_bulk_deadline));
  options.reason = absl::GetFlag(FLAGS_reason);
  options.include_closed = absl::GetFlag(FLAGS_include_closed);
  options.after = absl::GetFlag(FLAGS_after);
  options.cursor_file = absl::GetFlag(FLAGS_cursor_file);
  options.max_alerts = absl::GetFlag(FLAGS_max_alerts);
  if (absl::GetFlag(FLAGS_watch_seconds) > 0) {
    options.watch_for = absl::Seconds(absl::GetFlag(FLAGS_watch_seconds));
  }

  using Command = ExitCode (*)(NodeClient&, const CliOptions&,
                               const std::vector<std::string>&, CommandIo);
  const std::pair<const char*, Command> kCommands[] = {
      {"check", RunCheck},     {"register", RunRegister}, {"import", RunImport},
      {"close", RunClose},     {"cases", RunCases},       {"watch", RunWatch},
      {"ack", RunAcknowledge}, {"alerts", RunAlerts}};
  for (const auto& [name, run] : kCommands) {
    if (command != name) continue;
    absl::StatusOr<std::unique_ptr<NodeClient>> node =
        NodeClient::Connect(profile);
    if (!node.ok()) {
      std::cerr << "deconflict: " << node.status().message() << "\n";
      // A certificate no node would accept is "not authorized"; other
      // faults of the profile's files are usage errors.
      return ExitCodeFor(node.status()) == kExitNotAuthorized
                 ? kExitNotAuthorized
                 : kExitUsage;
    }
    return run(**node, options, args, io);
  }
  std::cerr
      << "deconflict: unknown command \"" << command
      << "\" (commands: check, register, import, close, cases, watch, ack, "
         "alerts; see --help)\n";
  return kExitUsage;
}

}  // namespace
}  // namespace deconfliction

int main(int argc, char** argv) { return deconfliction::Main(argc, argv); }
