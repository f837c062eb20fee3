// CustodianServer: a running custodian. Start() checks the certificate
// names this custodian, loads its share (mode 0600, this custodian's, of
// the configured epoch), opens its audit trail, and serves TokenIssuer over
// mutual TLS with the custodian's authorization policy (only the configured
// agencies' nodes) and gRPC health checking.
//
// Limits (CustodianConfig.limits; defaults in config.proto):
// max_message_bytes (RESOURCE_EXHAUSTED), max_elements_per_request
// (INVALID_ARGUMENT), max_queued_requests (RESOURCE_EXHAUSTED), caps per
// agency (RESOURCE_EXHAUSTED).
//
// Reload replaces, while the custodian serves, the agencies it answers and
// their caps (CustodianReloadableFields()): an agency joining is a reload.
#ifndef DECONFLICTION_SERVER_CUSTODIAN_CUSTODIAN_SERVER_H_
#define DECONFLICTION_SERVER_CUSTODIAN_CUSTODIAN_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "base/clock.h"
#include "metrics/server_metrics.h"
#include "rpc/serving.h"
#include "rpc/work_queue.h"
#include "security/authorization.h"
#include "security/staged_tls_files.h"
#include "server/caps/query_caps.h"
#include "server/custodian/custodian.h"
#include "server/custodian/token_issuer_service.h"
#include "storage/audit_log.h"

namespace deconfliction {

// The fields of CustodianConfig a reload may change; any other changes
// only with a restart.
inline const std::vector<std::string>& CustodianReloadableFields() {
  static const auto* const fields =
      new std::vector<std::string>{"agencies", "caps"};
  return *fields;
}

class CustodianServer {
 public:
  // `config` must have passed ValidateCustodianConfig. FAILED_PRECONDITION
  // for bad certificate files, a certificate that is not this custodian's,
  // or a share file that is readable by others, another custodian's or
  // malformed; UNAVAILABLE when the port or the database cannot be had.
  static absl::StatusOr<std::unique_ptr<CustodianServer>> Start(
      const config::v1::CustodianConfig& config,
      const Clock& clock = absl::Now);

  // What Start checks of the files `config` names (certificates, CRLs, the
  // share), with the same errors, without serving or touching data_dir:
  // --check_config.
  static absl::Status CheckFiles(const config::v1::CustodianConfig& config);

  int port() const { return serving_.port(); }
  // The metrics listener's port; 0 without a metrics section.
  int metrics_port() const { return metrics_->port(); }

  // Puts `config` (validated: ValidateCustodianConfig) in force while
  // serving (SIGHUP): the agencies whose nodes may ask for evaluations and
  // their caps. Returns what is in force. FAILED_PRECONDITION naming a
  // changed field other than CustodianReloadableFields(); then nothing
  // changes. Not to be called concurrently with itself.
  absl::StatusOr<std::string> Reload(const config::v1::CustodianConfig& config);

  // Re-reads the certificate files and CRLs now (SIGHUP), keeping the old
  // ones when the new are refused (StagedTlsFiles::Reload).
  absl::Status ReloadFiles() { return tls_files_->Reload(); }

  // Stops accepting calls, lets calls in progress finish for up to `grace`,
  // then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace);

  ~CustodianServer();

 private:
  CustodianServer() = default;

  // Destroyed in reverse order: the server first, then what it calls into.
  std::unique_ptr<StagedTlsFiles> tls_files_;  // the files served with
  config::v1::CustodianConfig configured_;  // as read, before staging: Reload
  std::shared_ptr<EnforcedPolicy> authorization_;
  config::v1::CustodianConfig config_;
  std::unique_ptr<ServerMetrics> metrics_;  // outlives what it counts
  std::unique_ptr<AuditDatabase> database_;
  std::unique_ptr<QueryCaps> caps_;
  std::unique_ptr<Custodian> custodian_;
  std::unique_ptr<WorkQueue> queue_;
  std::unique_ptr<TokenIssuerService> service_;
  Serving serving_;  // last: stopped before the rest is destroyed
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_CUSTODIAN_CUSTODIAN_SERVER_H_
