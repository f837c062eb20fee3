#include "server/hub/hub_service.h"

#include <utility>

#include "rpc/grpc_status.h"
#include "security/identity.h"

namespace deconfliction {

grpc::ServerUnaryReactor* HubService::Lookup(
    grpc::CallbackServerContext* context,
    const v1::FederatedLookupRequest* request,
    v1::FederatedLookupResponse* response) {
  absl::StatusOr<FederationIdentity> caller =
      PeerIdentity(*context->auth_context());
  if (!caller.ok()) return FinishNow(context, caller.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  coordinator_->Lookup(*request, *caller, absl::FromChrono(context->deadline()),
                       FinishWith(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* HubService::DeliveryStatus(
    grpc::CallbackServerContext* context,
    const v1::DeliveryStatusRequest* /*request*/,
    v1::DeliveryStatusResponse* response) {
  absl::StatusOr<FederationIdentity> caller =
      PeerIdentity(*context->auth_context());
  if (!caller.ok()) return FinishNow(context, caller.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  coordinator_->DeliveryStatus(*caller, FinishWith(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* HubService::AnchorAudit(
    grpc::CallbackServerContext* context, const v1::AnchorAuditRequest* request,
    v1::AnchorAuditResponse* response) {
  absl::StatusOr<FederationIdentity> caller =
      PeerIdentity(*context->auth_context());
  if (!caller.ok()) return FinishNow(context, caller.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  coordinator_->AnchorAudit(*request, *caller, FinishWith(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* HubService::RecoverAlerts(
    grpc::CallbackServerContext* context,
    const v1::RecoverAlertsRequest* request,
    v1::RecoverAlertsResponse* response) {
  absl::StatusOr<FederationIdentity> caller =
      PeerIdentity(*context->auth_context());
  if (!caller.ok()) return FinishNow(context, caller.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  coordinator_->RecoverAlerts(*request, *caller, FinishWith(reactor, response));
  return reactor;
}

}  // namespace deconfliction
