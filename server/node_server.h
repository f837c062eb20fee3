// NodeServer: a running agency node. Start() opens the database, reads the
// federation key, and serves the node's services over mutual TLS only, with
// the authorization policy of security/authorization.h, gRPC health
// checking and server reflection.
//
// Limits (from NodeConfig.limits; see config.proto for defaults):
//   max_message_bytes            larger requests: RESOURCE_EXHAUSTED
//   max_identifiers_per_request  larger batches: INVALID_ARGUMENT
//   max_queued_requests          a fuller queue: RESOURCE_EXHAUSTED
//   max_bulk_streams             more CheckBulk streams: RESOURCE_EXHAUSTED
//   100 concurrent streams per connection (HTTP/2 SETTINGS)
#ifndef DECONFLICTION_SERVER_NODE_SERVER_H_
#define DECONFLICTION_SERVER_NODE_SERVER_H_

#include <grpcpp/server.h>

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "server/agency_node.h"
#include "server/node_services.h"
#include "server/work_queue.h"

namespace deconfliction {

class NodeServer {
 public:
  // `config` must have passed ValidateNodeConfig. FAILED_PRECONDITION for a
  // bad key or certificate file (naming the field), or a certificate whose
  // identity is not this node's; UNAVAILABLE when the port or the database
  // cannot be had.
  static absl::StatusOr<std::unique_ptr<NodeServer>> Start(
      const config::v1::NodeConfig& config, Clock clock = absl::Now);
  ~NodeServer();

  // The port actually bound (useful with port 0).
  int port() const { return port_; }

  // Stops accepting calls, lets calls in progress finish for up to `grace`,
  // then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  NodeServer() = default;

  // Destroyed in reverse order: the server first, then what it calls into.
  // The queue outlives the node, whose hub client completes on it.
  std::unique_ptr<WorkQueue> queue_;
  std::unique_ptr<AgencyNode> node_;
  std::unique_ptr<WorkQueue> bulk_queue_;
  std::unique_ptr<RegistryService> registry_;
  std::unique_ptr<DeconflictionService> deconfliction_;
  std::unique_ptr<NodeFederationService> federation_;
  std::unique_ptr<AlertsService> alerts_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_SERVER_H_
