// deconflict-audit: exports the audit trail of a hub's or a node's database
// as JSON lines, verifying its hash chain. The database is opened read-only,
// so the hub or node may keep running.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "api/json_line.h"
#include "config/command_line.h"
#include "storage/audit_log.h"

ABSL_FLAG(std::string, data_dir, "",
          "The hub's or node's data_dir (from its configuration).");

int main(int argc, char** argv) {
  deconfliction::SetUsage(
      "Exports an audit trail as JSON lines and verifies its hash chain.\n"
      "Usage: deconflict-audit --data_dir=DIR > audit.jsonl\n"
      "Exit codes: 0 chain verified, 1 chain broken (records up to the break "
      "are printed), 2 no audit trail in DIR.",
      __FILE__);
  deconfliction::ParseCommandLine(argc, argv);
  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  if (dir.empty()) {
    std::cerr << "deconflict-audit: --data_dir is required (see --help)\n";
    return 2;
  }
  absl::StatusOr<uint64_t> count = deconfliction::ExportAudit(
      dir, [](const deconfliction::storage::v1::AuditRecord& record) {
        std::cout << deconfliction::ToJsonLine(record) << "\n";
      });
  if (!count.ok()) {
    std::cerr << "deconflict-audit: " << count.status().message() << "\n";
    return absl::IsDataLoss(count.status()) ? 1 : 2;
  }
  std::cerr << "deconflict-audit: " << *count
            << " records, hash chain verified\n";
  return 0;
}
