#include "server/node/custodian_clients.h"

#include <utility>

#include "rpc/channels.h"
#include "rpc/grpc_status.h"
#include "security/identity.h"
#include "security/tls.h"

namespace deconfliction {
namespace {

struct Call {
  grpc::ClientContext context;
  std::shared_ptr<const v1::EvaluateRequest> request;
  v1::EvaluateResponse response;
};

}  // namespace

absl::StatusOr<std::unique_ptr<CustodianClients>> CustodianClients::Create(
    const config::v1::NodeConfig& config, WorkQueue* completions) {
  std::unique_ptr<CustodianClients> clients(new CustodianClients(completions));
  for (const config::v1::CustodianAddress& custodian :
       config.token_key().custodians()) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        MutualTlsChannelCredentials(
            config.tls(), "tls",
            CustodianSpiffeId(config.federation(), custodian.name()));
    if (!credentials.ok()) return credentials.status();
    clients->names_.push_back(custodian.name());
    clients->stubs_.push_back(v1::TokenIssuer::NewStub(
        FederationChannel(custodian.address(), *credentials)));
  }
  return clients;
}

CustodianClients::~CustodianClients() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* in_flight) { return *in_flight == 0; }, &in_flight_));
}

void CustodianClients::EvaluateEach(
    const std::shared_ptr<const v1::EvaluateRequest>& request,
    absl::Time deadline, const AnswerDone& done) {
  {
    absl::MutexLock lock(&mu_);
    in_flight_ += static_cast<int>(stubs_.size());
  }
  for (size_t i = 0; i < stubs_.size(); ++i) {
    auto call = std::make_shared<Call>();
    call->request = request;
    call->context.set_deadline(absl::ToChronoTime(deadline));
    stubs_[i]->async()->Evaluate(
        &call->context, call->request.get(), &call->response,
        [this, call, done, name = names_[i]](const grpc::Status& status) {
          completions_->RunOrInline([call, done, name, status] {
            if (status.ok()) {
              done(name, std::move(call->response));
            } else {
              done(name, FromGrpcStatus(status));
            }
          });
          absl::MutexLock lock(&mu_);
          --in_flight_;
        });
  }
}

}  // namespace deconfliction
