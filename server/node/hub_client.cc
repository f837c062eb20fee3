#include "server/node/hub_client.h"

#include <utility>

#include "rpc/channels.h"
#include "rpc/grpc_status.h"
#include "security/identity.h"
#include "security/tls.h"

namespace deconfliction {

template <typename Request, typename Response>
void HubClient::CallHub(void (v1::Hub::Stub::async_interface::*method)(
                            grpc::ClientContext*, const Request*, Response*,
                            std::function<void(grpc::Status)>),
                        Request request, absl::Time deadline,
                        std::function<void(absl::StatusOr<Response>)> done) {
  struct UnaryCall {
    grpc::ClientContext context;
    Request request;
    Response response;
    std::function<void(absl::StatusOr<Response>)> done;
  };
  auto call = std::make_shared<UnaryCall>();
  call->request = std::move(request);
  call->done = std::move(done);
  call->context.set_deadline(absl::ToChronoTime(deadline));
  std::shared_ptr<v1::Hub::Stub> stub = Stub();
  (stub->async()->*method)(&call->context, &call->request, &call->response,
                           [call](const grpc::Status& status) {
                             if (status.ok()) {
                               call->done(std::move(call->response));
                             } else {
                               call->done(FromGrpcStatus(status));
                             }
                           });
}

absl::StatusOr<std::unique_ptr<HubClient>> HubClient::Create(
    const config::v1::NodeConfig& config) {
  std::unique_ptr<HubClient> client(new HubClient());
  if (absl::Status s = client->Connect(config); !s.ok()) return s;
  return client;
}

absl::Status HubClient::Connect(const config::v1::NodeConfig& config) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MutualTlsChannelCredentials(config.tls(), "tls",
                                  HubSpiffeId(config.federation()));
  if (!credentials.ok()) return credentials.status();
  std::shared_ptr<v1::Hub::Stub> stub =
      v1::Hub::NewStub(FederationChannel(config.hub().address(), *credentials));
  absl::MutexLock lock(&mu_);
  stub_.swap(stub);
  return absl::OkStatus();
}

std::shared_ptr<v1::Hub::Stub> HubClient::Stub() const {
  absl::MutexLock lock(&mu_);
  return stub_;
}

void HubClient::Lookup(v1::FederatedLookupRequest request, absl::Time deadline,
                       Done done) {
  CallHub<v1::FederatedLookupRequest, v1::FederatedLookupResponse>(
      &v1::Hub::Stub::async_interface::Lookup, std::move(request), deadline,
      std::move(done));
}

void HubClient::DeliveryStatus(absl::Time deadline, StatusDone done) {
  CallHub<v1::DeliveryStatusRequest, v1::DeliveryStatusResponse>(
      &v1::Hub::Stub::async_interface::DeliveryStatus,
      v1::DeliveryStatusRequest(), deadline, std::move(done));
}

void HubClient::AnchorAudit(v1::AnchorAuditRequest request, absl::Time deadline,
                            std::function<void(absl::Status)> done) {
  CallHub<v1::AnchorAuditRequest, v1::AnchorAuditResponse>(
      &v1::Hub::Stub::async_interface::AnchorAudit, std::move(request),
      deadline,
      [done = std::move(done)](
          const absl::StatusOr<v1::AnchorAuditResponse>& answer) {
        done(answer.status());
      });
}

void HubClient::RecoverAlerts(
    v1::RecoverAlertsRequest request, absl::Time deadline,
    std::function<void(absl::StatusOr<v1::RecoverAlertsResponse>)> done) {
  CallHub<v1::RecoverAlertsRequest, v1::RecoverAlertsResponse>(
      &v1::Hub::Stub::async_interface::RecoverAlerts, std::move(request),
      deadline, std::move(done));
}

}  // namespace deconfliction
