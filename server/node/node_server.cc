#include "server/node/node_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rpc/channels.h"
#include "rpc/grpc_status.h"
#include "security/authorization.h"
#include "security/identity.h"
#include "security/tls.h"

namespace deconfliction {
namespace {

constexpr int kMaxStreamsPerConnection = 100;

}  // namespace

absl::StatusOr<std::unique_ptr<NodeServer>> NodeServer::Start(
    const config::v1::NodeConfig& config, const Clock& clock) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MutualTlsServerCredentials(config.tls(), "tls");
  if (!credentials.ok()) return credentials.status();
  const std::string own_id =
      NodeSpiffeId(config.federation(), config.agency_id());
  absl::StatusOr<std::string> cert_id =
      CertificateSpiffeId(config.tls().cert_file());
  if (!cert_id.ok()) return cert_id.status();
  if (*cert_id != own_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("tls.cert_file: certificate names ", *cert_id,
                     " but this node is ", own_id));
  }
  absl::StatusOr<std::unique_ptr<HmacTokenFunction>> tokens =
      HmacTokenFunction::FromKeyFile(config.federation_key_file());
  if (!tokens.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("federation_key_file: ", tokens.status().message()));
  }
  std::unique_ptr<NodeServer> server(new NodeServer());
  server->config_ = config;
  absl::StatusOr<std::unique_ptr<NodeDatabase>> database =
      NodeDatabase::Open(config.data_dir(), config.agency_id(), clock);
  if (!database.ok()) return database.status();
  server->database_ = *std::move(database);

  absl::StatusOr<AuthorizationEngine> policy = AuthorizationEngine::FromJson(
      NodeAuthorizationPolicy(config.federation(), config.agency_id()));
  if (!policy.ok()) return policy.status();
  (*credentials)
      ->SetAuthMetadataProcessor(EnforceAuthorization(*std::move(policy)));

  const auto& limits = config.limits();
  server->queue_ = std::make_unique<WorkQueue>(limits.worker_threads(),
                                               limits.max_queued_requests());
  if (config.has_hub()) {
    absl::StatusOr<std::unique_ptr<HubClient>> hub =
        HubClient::Create(config, server->queue_.get());
    if (!hub.ok()) return hub.status();
    server->hub_ = *std::move(hub);
    server->retry_ = std::make_unique<FederationRetry>(
        &server->config_, server->hub_.get(),
        &server->database_->federation_queue(), clock);
  }
  NodeDatabase* db = server->database_.get();
  server->federated_ = std::make_unique<FederatedCheck>(
      &server->config_, server->hub_.get(), db, clock);
  server->node_ =
      std::make_unique<AgencyNode>(&server->config_, *std::move(tokens), db,
                                   server->federated_.get(), clock);
  server->token_lookup_ =
      std::make_unique<TokenLookup>(&server->config_, db, clock);
  server->alert_intake_ = std::make_unique<AlertIntake>(
      &server->config_, db, server->hub_.get(), clock);
  server->bulk_queue_ = std::make_unique<WorkQueue>(limits.worker_threads(),
                                                    limits.max_bulk_streams());
  server->registry_ = std::make_unique<RegistryService>(server->node_.get(),
                                                        server->queue_.get());
  server->deconfliction_ = std::make_unique<DeconflictionService>(
      server->node_.get(), server->queue_.get(), server->bulk_queue_.get(),
      limits.max_bulk_streams());
  server->federation_ = std::make_unique<NodeFederationService>(
      server->token_lookup_.get(), server->alert_intake_.get(),
      server->queue_.get());
  server->alerts_ = std::make_unique<AlertsService>(server->alert_intake_.get(),
                                                    server->queue_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address(), *credentials,
                           &server->port_);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(limits.max_message_bytes()));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             kMaxStreamsPerConnection);
  AcceptFederationKeepalive(&builder);
  builder.RegisterService(server->registry_.get());
  builder.RegisterService(server->deconfliction_.get());
  builder.RegisterService(server->federation_.get());
  builder.RegisterService(server->alerts_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "listen_address: cannot listen on ", config.listen_address()));
  }
  return server;
}

void NodeServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (auto* health = server_->GetHealthCheckService()) {
    health->Shutdown();
  }
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoNanoseconds(grace));
  server_->Wait();
}

NodeServer::~NodeServer() {
  if (server_ != nullptr) Shutdown(absl::ZeroDuration());
}

}  // namespace deconfliction
