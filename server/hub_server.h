// HubServer: a running coordination-centre hub. Start() opens the hub's
// database (audit trail only: the hub holds no identifier data and no
// federation key), connects to every configured node, and serves the Hub
// service over mutual TLS with the hub's authorization policy and gRPC
// health checking.
//
// Limits (HubConfig.limits; defaults in config.proto): max_message_bytes
// (RESOURCE_EXHAUSTED), max_tokens_per_request (INVALID_ARGUMENT),
// node_timeout_ms, query caps per agency (RESOURCE_EXHAUSTED).
#ifndef DECONFLICTION_SERVER_HUB_SERVER_H_
#define DECONFLICTION_SERVER_HUB_SERVER_H_

#include <grpcpp/server.h>

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "server/alert_delivery.h"
#include "server/fan_out.h"
#include "server/hub_service.h"
#include "server/sharing_policy.h"
#include "server/work_queue.h"
#include "storage/hub_store.h"

namespace deconfliction {

class HubServer {
 public:
  // `config` must have passed ValidateHubConfig. FAILED_PRECONDITION for
  // bad certificate files or a certificate that is not the hub's;
  // INVALID_ARGUMENT for a bad common-identifiers file; UNAVAILABLE when the
  // port or the database cannot be had.
  static absl::StatusOr<std::unique_ptr<HubServer>> Start(
      const config::v1::HubConfig& config, Clock clock = absl::Now);
  ~HubServer();

  int port() const { return port_; }

  // Stops accepting calls, lets calls in progress finish for up to `grace`,
  // then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  HubServer() = default;

  config::v1::HubConfig config_;
  std::unique_ptr<HubStore> store_;
  std::unique_ptr<FanOut> fan_out_;
  std::unique_ptr<QueryCaps> caps_;
  CommonIdentifiers common_;
  std::unique_ptr<WorkQueue> audit_queue_;
  std::unique_ptr<AlertDelivery> delivery_;
  std::unique_ptr<HubService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_SERVER_H_
