// deconflict-audit: exports the audit trail of a hub's, a node's or a
// custodian's database as JSON lines, verifying its keyed chain, and checks
// a node's trail against the anchors of it that the hub recorded. The
// database is opened read-only, so its server may keep running.
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "api/json_line.h"
#include "config/command_line.h"
#include "google/protobuf/util/json_util.h"
#include "storage/audit_log.h"

ABSL_FLAG(std::string, data_dir, "",
          "The server's data_dir (from its configuration).");
ABSL_FLAG(std::string, audit_key_file, "",
          "The trail's audit key (default: <data_dir>/audit.key, where the "
          "server keeps it).");
ABSL_FLAG(std::string, anchors, "",
          "Also check the trail against the hub's anchors of it: the hub's "
          "trail as this program exported it (JSON lines). Needs --agency.");
ABSL_FLAG(std::string, agency, "",
          "With --anchors: the agency whose node wrote the trail.");

namespace {

namespace storage = deconfliction::storage;

constexpr int kVerified = 0;
constexpr int kBroken = 1;
constexpr int kUnusable = 2;

// The anchors for `agency` in a hub trail exported as JSON lines.
absl::StatusOr<std::vector<storage::v1::AuditAnchor>> ReadAnchors(
    const std::string& path, const std::string& agency) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  std::vector<storage::v1::AuditAnchor> anchors;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    storage::v1::AuditRecord record;
    if (!google::protobuf::util::JsonStringToMessage(line, &record, options)
             .ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", number, ": not an audit record exported by this program"));
    }
    if (record.has_anchor() && record.anchor().agency() == agency) {
      anchors.push_back(record.anchor());
    }
  }
  return anchors;
}

int Fail(const absl::Status& status) {
  std::cerr << "deconflict-audit: " << status.message() << "\n";
  return absl::IsDataLoss(status) ? kBroken : kUnusable;
}

}  // namespace

int main(int argc, char** argv) {
  deconfliction::SetUsage(
      "Exports an audit trail as JSON lines and verifies its keyed chain;\n"
      "with --anchors, also checks that no anchored record was cut or "
      "changed.\n"
      "Usage: deconflict-audit --data_dir=DIR > audit.jsonl\n"
      "       deconflict-audit --data_dir=data/hub > hub.jsonl   (at the "
      "hub)\n"
      "       deconflict-audit --data_dir=data/north --anchors=hub.jsonl "
      "--agency=north > north.jsonl\n"
      "Exit codes: 0 verified, 1 the trail was altered, cut or does not "
      "match its anchors (records up to the break are printed), 2 nothing "
      "to verify (no trail in DIR, missing or unprotected key, unreadable "
      "anchors, no anchor for the agency, bad flags).",
      __FILE__);
  deconfliction::ParseCommandLine(argc, argv);
  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  if (dir.empty()) {
    std::cerr << "deconflict-audit: --data_dir is required (see --help)\n";
    return kUnusable;
  }
  std::string key_file = absl::GetFlag(FLAGS_audit_key_file);
  if (key_file.empty()) key_file = deconfliction::AuditKeyFile(dir);
  const std::string anchors_file = absl::GetFlag(FLAGS_anchors);
  const std::string agency = absl::GetFlag(FLAGS_agency);
  if (anchors_file.empty() != agency.empty()) {
    std::cerr << "deconflict-audit: --anchors and --agency go together (see "
                 "--help)\n";
    return kUnusable;
  }
  std::vector<storage::v1::AuditAnchor> anchors;
  if (!anchors_file.empty()) {
    auto read = ReadAnchors(anchors_file, agency);
    if (!read.ok()) return Fail(read.status());
    anchors = *std::move(read);
  }
  deconfliction::AnchorCheck check(anchors);
  uint64_t last_seq = 0;
  absl::StatusOr<uint64_t> count = deconfliction::ExportAudit(
      dir, key_file, [&](const storage::v1::AuditRecord& record) {
        std::cout << deconfliction::ToJsonLine(record) << "\n";
        check.Visit(record);
        last_seq = record.seq();
      });
  if (!count.ok()) return Fail(count.status());
  std::cerr << "deconflict-audit: " << *count << " records, chain verified\n";
  if (anchors_file.empty()) return kVerified;
  absl::StatusOr<deconfliction::AnchorCheck::Summary> summary =
      check.Finish(last_seq);
  if (!summary.ok()) return Fail(summary.status());
  if (summary->anchors == 0) {
    std::cerr << "deconflict-audit: the hub holds no anchor for " << agency
              << ": nothing shows whether the tail was cut\n";
    return kUnusable;
  }
  std::cerr << "deconflict-audit: " << summary->anchors
            << " anchors match; the newest covers records up to #"
            << summary->newest_anchored_seq << " (" << summary->unanchored
            << " records after it are not anchored yet)\n";
  return kVerified;
}
