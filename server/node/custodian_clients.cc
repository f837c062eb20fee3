#include "server/node/custodian_clients.h"

#include <utility>

#include "absl/strings/str_cat.h"
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
    clients->names_.push_back(custodian.name());
  }
  if (absl::Status s = clients->Connect(config); !s.ok()) return s;
  return clients;
}

absl::Status CustodianClients::Connect(const config::v1::NodeConfig& config) {
  const auto& custodians = config.token_key().custodians();
  std::vector<std::shared_ptr<v1::TokenIssuer::Stub>> stubs;
  for (int i = 0; i < custodians.size(); ++i) {
    if (static_cast<size_t>(i) >= names_.size() ||
        custodians[i].name() != names_[i]) {
      return absl::FailedPreconditionError(absl::StrCat(
          "token_key.custodians[", i,
          "].name: the custodians and their order change only with a "
          "restart (they are the bundle's)"));
    }
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        MutualTlsChannelCredentials(
            config.tls(), "tls",
            CustodianSpiffeId(config.federation(), custodians[i].name()));
    if (!credentials.ok()) return credentials.status();
    stubs.push_back(v1::TokenIssuer::NewStub(
        FederationChannel(custodians[i].address(), *credentials)));
  }
  if (stubs.size() != names_.size()) {
    return absl::FailedPreconditionError(
        "token_key.custodians: the custodians and their order change only "
        "with a restart (they are the bundle's)");
  }
  absl::MutexLock lock(&mu_);
  stubs_.swap(stubs);
  return absl::OkStatus();
}

CustodianClients::~CustodianClients() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* in_flight) { return *in_flight == 0; }, &in_flight_));
}

void CustodianClients::EvaluateEach(
    const std::shared_ptr<const v1::EvaluateRequest>& request,
    absl::Time deadline, const AnswerDone& done) {
  std::vector<std::shared_ptr<v1::TokenIssuer::Stub>> stubs;
  {
    absl::MutexLock lock(&mu_);
    stubs = stubs_;
    in_flight_ += static_cast<int>(stubs.size());
  }
  for (size_t i = 0; i < stubs.size(); ++i) {
    auto call = std::make_shared<Call>();
    call->request = request;
    call->context.set_deadline(absl::ToChronoTime(deadline));
    stubs[i]->async()->Evaluate(
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
