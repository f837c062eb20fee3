#include "server/custodian/token_issuer_service.h"

#include <utility>

#include "rpc/grpc_status.h"
#include "security/identity.h"

namespace deconfliction {

grpc::ServerUnaryReactor* TokenIssuerService::Evaluate(
    grpc::CallbackServerContext* context, const v1::EvaluateRequest* request,
    v1::EvaluateResponse* response) {
  absl::StatusOr<FederationIdentity> caller =
      PeerIdentity(*context->auth_context());
  if (!caller.ok()) return FinishNow(context, caller.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto finish = FinishWith(reactor, response);
  const bool admitted =
      queue_->TrySubmit([this, request, caller = *std::move(caller), finish] {
        finish(custodian_->Evaluate(*request, caller));
      });
  if (!admitted) {
    finish(absl::ResourceExhaustedError(
        "custodian is at its limit of queued requests; retry with backoff"));
  }
  return reactor;
}

}  // namespace deconfliction
