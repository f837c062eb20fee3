// HubServer: a running coordination-centre hub. Start() opens the hub's
// database (audit trail and alert outbox: no identifier in plaintext and no
// share of the token key; storage/alert_outbox.h), connects to every configured
// node, starts alert delivery, and serves the Hub service over mutual TLS
// with the hub's authorization policy and gRPC health checking.
//
// Limits (HubConfig.limits; defaults in config.proto): max_message_bytes
// (RESOURCE_EXHAUSTED), max_tokens_per_request (INVALID_ARGUMENT),
// node_timeout_ms, query caps per agency (RESOURCE_EXHAUSTED).
//
// Reload replaces, while the hub serves, its nodes, its sharing policy and
// the per-call limits (kHubReloadableFields): adding an agency is a reload,
// which no node notices.
#ifndef DECONFLICTION_SERVER_HUB_HUB_SERVER_H_
#define DECONFLICTION_SERVER_HUB_HUB_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "base/clock.h"
#include "base/periodic.h"
#include "metrics/server_metrics.h"
#include "rpc/serving.h"
#include "rpc/work_queue.h"
#include "security/authorization.h"
#include "security/staged_tls_files.h"
#include "server/caps/query_caps.h"
#include "server/hub/alert_delivery.h"
#include "server/hub/coordinator.h"
#include "server/hub/hub_service.h"
#include "server/hub/hub_settings.h"
#include "server/hub/node_channels.h"
#include "server/hub/sharing_policy.h"
#include "storage/alert_outbox.h"

namespace deconfliction {

// How often the hub forgets delivered alerts past their retention window.
inline constexpr absl::Duration kDeliveredAlertsPruneInterval = absl::Hours(1);

// The fields of HubConfig a reload may change; any other changes only with
// a restart.
inline const std::vector<std::string>& HubReloadableFields() {
  static const auto* const fields =
      new std::vector<std::string>{"nodes",
                                   "policy",
                                   "limits.max_tokens_per_request",
                                   "limits.node_timeout_ms",
                                   "limits.hung_node_timeout_ms",
                                   "limits.alert_delivery_delay_ms"};
  return *fields;
}

class HubServer {
 public:
  // `config` must have passed ValidateHubConfig. FAILED_PRECONDITION for
  // bad certificate files or a certificate that is not the hub's;
  // INVALID_ARGUMENT for a bad common-identifiers file; UNAVAILABLE when the
  // port or the database cannot be had.
  static absl::StatusOr<std::unique_ptr<HubServer>> Start(
      const config::v1::HubConfig& config, const Clock& clock = absl::Now);

  // What Start checks of the files `config` names (certificates, CRLs, the
  // common identifiers), with the same errors, without serving or touching
  // data_dir: --check_config.
  static absl::Status CheckFiles(const config::v1::HubConfig& config);

  int port() const { return serving_.port(); }
  // The metrics listener's port; 0 without a metrics section.
  int metrics_port() const { return metrics_->port(); }

  // Puts `config` (validated: ValidateHubConfig) in force while serving
  // (SIGHUP): the nodes it lists (the authorization policy, channels and
  // alert delivery of each), its sharing policy, common identifiers and
  // per-call limits. Lookups started before keep the settings they started
  // with. Returns what changed. FAILED_PRECONDITION when a field other than
  // HubReloadableFields() changed (naming it) or for unreadable
  // certificate files, INVALID_ARGUMENT for a bad common-identifiers file:
  // then nothing changes. Not to be called concurrently with itself.
  absl::StatusOr<std::string> Reload(const config::v1::HubConfig& config);

  // Re-reads the certificate files and CRLs now (SIGHUP), keeping the old
  // ones when the new are refused (StagedTlsFiles::Reload).
  absl::Status ReloadFiles() { return tls_files_->Reload(); }

  // Stops accepting calls, lets calls in progress finish for up to `grace`,
  // then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace);

  ~HubServer();

 private:
  HubServer() = default;

  // The outbox gauges: deconfliction_hub_outbox{agency, queue} and
  // deconfliction_hub_outbox_oldest_alert_age_seconds{agency}.
  void ExposeOutbox();

  // Destroyed in reverse order: the server first, then what it calls into.
  std::unique_ptr<StagedTlsFiles> tls_files_;  // the files served with
  config::v1::HubConfig configured_;  // as read, before staging: Reload
  std::shared_ptr<EnforcedPolicy> authorization_;
  std::unique_ptr<HubSettingsInForce> settings_;
  std::unique_ptr<ServerMetrics> metrics_;  // outlives what it counts
  std::unique_ptr<HubDatabase> database_;
  std::unique_ptr<NodeChannels> nodes_;
  std::unique_ptr<QueryCaps> caps_;
  std::unique_ptr<WorkQueue> writes_;
  std::unique_ptr<AlertDelivery> delivery_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<HubService> service_;
  // Forgets delivered alerts past limits.alert_retention_days, hourly.
  std::unique_ptr<Periodic> retention_;
  Serving serving_;  // last: stopped before the rest is destroyed
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_HUB_SERVER_H_
