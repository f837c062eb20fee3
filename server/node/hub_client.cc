#include "server/node/hub_client.h"

#include <utility>

#include "rpc/channels.h"
#include "rpc/grpc_status.h"
#include "security/identity.h"
#include "security/tls.h"

namespace deconfliction {
namespace {

struct Call {
  grpc::ClientContext context;
  v1::FederatedLookupRequest request;
  v1::FederatedLookupResponse response;
  Federation::Done done;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HubClient>> HubClient::Create(
    const config::v1::NodeConfig& config, WorkQueue* completions) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MutualTlsChannelCredentials(config.tls(), "tls",
                                  HubSpiffeId(config.federation()));
  if (!credentials.ok()) return credentials.status();
  return std::unique_ptr<HubClient>(new HubClient(
      v1::Hub::NewStub(FederationChannel(config.hub().address(), *credentials)),
      completions));
}

void HubClient::Lookup(v1::FederatedLookupRequest request, absl::Time deadline,
                       Done done) {
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  call->done = std::move(done);
  call->context.set_deadline(absl::ToChronoTime(deadline));
  stub_->async()->Lookup(&call->context, &call->request, &call->response,
                         [this, call](const grpc::Status& status) {
                           auto finish = [call, status] {
                             if (status.ok()) {
                               call->done(std::move(call->response));
                             } else {
                               call->done(FromGrpcStatus(status));
                             }
                           };
                           completions_->RunOrInline(finish);
                         });
}

void HubClient::DeliveryStatus(absl::Time deadline, StatusDone done) {
  struct StatusCall {
    grpc::ClientContext context;
    v1::DeliveryStatusRequest request;
    v1::DeliveryStatusResponse response;
    StatusDone done;
  };
  auto call = std::make_shared<StatusCall>();
  call->done = std::move(done);
  call->context.set_deadline(absl::ToChronoTime(deadline));
  stub_->async()->DeliveryStatus(&call->context, &call->request,
                                 &call->response,
                                 [call](const grpc::Status& status) {
                                   if (status.ok()) {
                                     call->done(std::move(call->response));
                                   } else {
                                     call->done(FromGrpcStatus(status));
                                   }
                                 });
}

}  // namespace deconfliction
