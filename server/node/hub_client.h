// HubClient: a node's connection to the coordination-centre hub, the
// Federation (server/node/federation.h) over gRPC. One long-lived mutual-TLS
// channel (rpc/channels.h) that accepts only the hub's certificate; calls use
// gRPC's callback API, and their completions run on gRPC's thread: they must
// not block (a caller with storage to write hands that to a WorkQueue).
#ifndef DECONFLICTION_SERVER_NODE_HUB_CLIENT_H_
#define DECONFLICTION_SERVER_NODE_HUB_CLIENT_H_

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/federation.grpc.pb.h"
#include "server/node/federation.h"

namespace deconfliction {

class HubClient final : public Federation {
 public:
  // `config.hub` must be set. FAILED_PRECONDITION for unreadable
  // certificate files.
  static absl::StatusOr<std::unique_ptr<HubClient>> Create(
      const config::v1::NodeConfig& config);

  // Connects to `config.hub.address` in place of the hub in force (a
  // reload); calls in flight finish on the channel they started on.
  // FAILED_PRECONDITION for unreadable certificate files, and nothing
  // changes.
  absl::Status Connect(const config::v1::NodeConfig& config);

  void Lookup(v1::FederatedLookupRequest request, absl::Time deadline,
              Done done) override;
  void DeliveryStatus(absl::Time deadline, StatusDone done) override;
  void AnchorAudit(v1::AnchorAuditRequest request, absl::Time deadline,
                   std::function<void(absl::Status)> done) override;
  void RecoverAlerts(
      v1::RecoverAlertsRequest request, absl::Time deadline,
      std::function<void(absl::StatusOr<v1::RecoverAlertsResponse>)> done)
      override;

 private:
  HubClient() = default;

  std::shared_ptr<v1::Hub::Stub> Stub() const;

  // A unary call to the hub whose completion runs `done`.
  template <typename Request, typename Response>
  void CallHub(void (v1::Hub::Stub::async_interface::*method)(
                   grpc::ClientContext*, const Request*, Response*,
                   std::function<void(grpc::Status)>),
               Request request, absl::Time deadline,
               std::function<void(absl::StatusOr<Response>)> done);
  mutable absl::Mutex mu_;
  std::shared_ptr<v1::Hub::Stub> stub_ ABSL_GUARDED_BY(mu_);
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_HUB_CLIENT_H_
