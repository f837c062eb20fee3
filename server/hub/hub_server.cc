#include "server/hub/hub_server.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rpc/channels.h"
#include "security/authorization.h"
#include "security/identity.h"
#include "security/tls.h"

namespace deconfliction {

absl::StatusOr<std::unique_ptr<HubServer>> HubServer::Start(
    const config::v1::HubConfig& config, Clock clock) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MutualTlsServerCredentials(config.tls(), "tls");
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<std::string> cert_id =
      CertificateSpiffeId(config.tls().cert_file());
  if (!cert_id.ok()) return cert_id.status();
  if (*cert_id != HubSpiffeId(config.federation())) {
    return absl::FailedPreconditionError(
        absl::StrCat("tls.cert_file: certificate names ", *cert_id,
                     " but the hub is ", HubSpiffeId(config.federation())));
  }
  std::vector<std::string> agencies;
  for (const auto& node : config.nodes()) agencies.push_back(node.agency_id());
  absl::StatusOr<AuthorizationEngine> policy = AuthorizationEngine::FromJson(
      HubAuthorizationPolicy(config.federation(), agencies));
  if (!policy.ok()) return policy.status();
  (*credentials)
      ->SetAuthMetadataProcessor(EnforceAuthorization(*std::move(policy)));

  std::unique_ptr<HubServer> hub(new HubServer());
  hub->config_ = config;
  if (!config.policy().common_identifiers_file().empty()) {
    absl::StatusOr<CommonIdentifiers> common =
        CommonIdentifiers::Load(config.policy().common_identifiers_file());
    if (!common.ok()) return common.status();
    hub->common_ = *std::move(common);
  }
  absl::StatusOr<std::unique_ptr<HubDatabase>> database =
      HubDatabase::Open(config.data_dir());
  if (!database.ok()) return database.status();
  hub->database_ = *std::move(database);
  absl::StatusOr<std::unique_ptr<NodeChannels>> nodes =
      NodeChannels::Create(config);
  if (!nodes.ok()) return nodes.status();
  hub->nodes_ = *std::move(nodes);
  hub->caps_ = std::make_unique<QueryCaps>(config.policy());
  hub->writes_ = std::make_unique<WorkQueue>(
      config.limits().worker_threads(), config.limits().max_queued_requests());
  hub->delivery_ = std::make_unique<AlertDelivery>(
      &hub->config_, &hub->database_->outbox(), hub->nodes_.get(),
      hub->writes_.get(), clock);
  hub->coordinator_ = std::make_unique<Coordinator>(
      &hub->config_, hub->nodes_.get(), hub->caps_.get(), &hub->common_,
      hub->database_.get(), hub->writes_.get(), hub->delivery_.get(),
      std::move(clock));
  hub->service_ = std::make_unique<HubService>(hub->coordinator_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address(), *credentials, &hub->port_);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(config.limits().max_message_bytes()));
  AcceptFederationKeepalive(&builder);
  builder.RegisterService(hub->service_.get());
  hub->server_ = builder.BuildAndStart();
  if (hub->server_ == nullptr || hub->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "listen_address: cannot listen on ", config.listen_address()));
  }
  return hub;
}

void HubServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (auto* health = server_->GetHealthCheckService()) health->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoNanoseconds(grace));
  server_->Wait();
}

HubServer::~HubServer() {
  if (server_ != nullptr) Shutdown(absl::ZeroDuration());
}

}  // namespace deconfliction
