// The hub's gRPC service: a thin callback-API adapter over the Coordinator
// (server/hub/coordinator.h). It reads the caller's identity from its
// verified certificate and the deadline from the call, and finishes the
// call with the coordinator's outcome. Who may call is decided before any
// handler runs, by the hub's authorization policy.
#ifndef DECONFLICTION_SERVER_HUB_HUB_SERVICE_H_
#define DECONFLICTION_SERVER_HUB_HUB_SERVICE_H_

#include "api/deconfliction/v1/federation.grpc.pb.h"
#include "server/hub/coordinator.h"

namespace deconfliction {

class HubService final : public v1::Hub::CallbackService {
 public:
  // `coordinator` must outlive the service.
  explicit HubService(Coordinator* coordinator) : coordinator_(coordinator) {}

  grpc::ServerUnaryReactor* Lookup(
      grpc::CallbackServerContext* context,
      const v1::FederatedLookupRequest* request,
      v1::FederatedLookupResponse* response) override;
  // The asking agency's alerts waiting in the outbox.
  grpc::ServerUnaryReactor* DeliveryStatus(
      grpc::CallbackServerContext* context,
      const v1::DeliveryStatusRequest* request,
      v1::DeliveryStatusResponse* response) override;
  // Records the asking node's audit chain head.
  grpc::ServerUnaryReactor* AnchorAudit(
      grpc::CallbackServerContext* context,
      const v1::AnchorAuditRequest* request,
      v1::AnchorAuditResponse* response) override;
  // The alerts delivered to the asking node, for its recovery.
  grpc::ServerUnaryReactor* RecoverAlerts(
      grpc::CallbackServerContext* context,
      const v1::RecoverAlertsRequest* request,
      v1::RecoverAlertsResponse* response) override;

 private:
  Coordinator* const coordinator_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_HUB_SERVICE_H_
