// NodeServer: a running agency node. Start() opens the database, reads the
// token-key bundle, connects to the custodians and to the hub (when
// configured), starts the retries (registrations awaiting tokens, and
// federated checks the hub did not take), starts the metrics listener (with
// a `metrics` section) and serves the node's services over
// mutual TLS only, with the authorization policy of security/authorization.h,
// gRPC health checking and server reflection. It owns every part of the node
// and wires them together.
//
// Limits (from NodeConfig.limits; see config.proto for defaults):
//   max_message_bytes            larger requests: RESOURCE_EXHAUSTED
//   max_identifiers_per_request  larger batches: INVALID_ARGUMENT
//   max_queued_requests          a fuller queue: RESOURCE_EXHAUSTED
//   max_bulk_streams             more CheckBulk streams: RESOURCE_EXHAUSTED
//   100 concurrent streams per connection (HTTP/2 SETTINGS)
#ifndef DECONFLICTION_SERVER_NODE_NODE_SERVER_H_
#define DECONFLICTION_SERVER_NODE_NODE_SERVER_H_

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
#include "security/staged_tls_files.h"
#include "server/node/agency_node.h"
#include "server/node/alert_intake.h"
#include "server/node/alert_recovery.h"
#include "server/node/audit_anchoring.h"
#include "server/node/federated_check.h"
#include "server/node/federation_retry.h"
#include "server/node/hub_client.h"
#include "server/node/node_services.h"
#include "server/node/node_tokens.h"
#include "server/node/token_lookup.h"
#include "server/node/token_retry.h"
#include "storage/node_database.h"

namespace deconfliction {

// The fields of NodeConfig a reload may change; any other changes only
// with a restart.
inline const std::vector<std::string>& NodeReloadableFields() {
  static const auto* const fields =
      new std::vector<std::string>{"hub.address", "token_key.custodians"};
  return *fields;
}

class NodeServer {
 public:
  // `config` must have passed ValidateNodeConfig. FAILED_PRECONDITION for a
  // bad bundle or certificate file (naming the field), fewer custodians than
  // the bundle's threshold or one it does not name, a certificate whose
  // identity is not this node's, a database whose tokens are not of the
  // bundle's epoch (NodeDatabase::Open), or no ISO 3166 tables (identifiers/
  // jurisdictions.h); UNAVAILABLE when the port or the database cannot be
  // had.
  static absl::StatusOr<std::unique_ptr<NodeServer>> Start(
      const config::v1::NodeConfig& config, const Clock& clock = absl::Now);

  // What Start checks of the files `config` names (certificates, CRLs, the
  // token-key bundle against the custodians, the ISO 3166 tables), with the
  // same errors, without serving, calling anyone or touching data_dir:
  // --check_config.
  static absl::Status CheckFiles(const config::v1::NodeConfig& config);

  // The port actually bound (useful with port 0).
  int port() const { return serving_.port(); }
  // The metrics listener's port; 0 without a metrics section.
  int metrics_port() const { return metrics_->port(); }

  // Puts `config` (validated: ValidateNodeConfig) in force while serving
  // (SIGHUP): the hub's address and the custodians' addresses
  // (NodeReloadableFields()); calls in flight finish where they started.
  // Returns what is in force. FAILED_PRECONDITION naming a changed field
  // other than those (a hub section added or removed among them), other
  // custodians, or unreadable certificate files; then nothing changes. Not
  // to be called concurrently with itself.
  absl::StatusOr<std::string> Reload(const config::v1::NodeConfig& config);

  // Re-reads the certificate files and CRLs now (SIGHUP), keeping the old
  // ones when the new are refused (StagedTlsFiles::Reload).
  absl::Status ReloadFiles() { return tls_files_->Reload(); }

  // Ends every Watch stream at once (UNAVAILABLE, naming the cursor to
  // resume after), stops accepting calls, lets calls in progress finish for
  // up to `grace`, then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace);

  ~NodeServer();

 private:
  NodeServer() = default;

  // deconfliction_node_lookups_waiting_for_hub and
  // deconfliction_node_oldest_lookup_waiting_seconds.
  void ExposeFederationQueue();

  // Destroyed in reverse order: the server first, then what it calls into.
  // The queue outlives the hub client, whose completions run on it.
  std::unique_ptr<StagedTlsFiles> tls_files_;  // the files served with
  config::v1::NodeConfig configured_;  // as read, before staging: Reload
  config::v1::NodeConfig config_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<WorkQueue> queue_;
  std::unique_ptr<NodeTokens> tokens_;
  std::unique_ptr<NodeDatabase> database_;
  std::unique_ptr<HubClient> hub_;                   // null without a hub
  std::unique_ptr<FederationRetry> retry_;           // null without a hub
  std::unique_ptr<AuditAnchoring> audit_anchoring_;  // null without a hub
  std::unique_ptr<TokenRetry> token_retry_;
  std::unique_ptr<FederatedCheck> federated_;
  std::unique_ptr<AgencyNode> node_;
  std::unique_ptr<TokenLookup> token_lookup_;
  std::unique_ptr<AlertIntake> alert_intake_;
  std::unique_ptr<AlertRecovery> alert_recovery_;  // null without a hub
  std::unique_ptr<WorkQueue> bulk_queue_;
  std::unique_ptr<RegistryService> registry_;
  std::unique_ptr<DeconflictionService> deconfliction_;
  std::unique_ptr<NodeFederationService> federation_;
  std::unique_ptr<AlertsService> alerts_;
  Serving serving_;  // last: stopped before the rest is destroyed
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_NODE_SERVER_H_
