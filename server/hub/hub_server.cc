#include "server/hub/hub_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/server_builder.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "rpc/serving.h"
#include "security/authorization.h"
#include "security/identity.h"
#include "security/tls.h"

namespace deconfliction {

absl::Status HubServer::CheckFiles(const config::v1::HubConfig& config) {
  if (absl::Status s = CheckOwnTlsFiles(
          config.tls(), HubSpiffeId(config.federation()), "tls");
      !s.ok()) {
    return s;
  }
  if (config.policy().common_identifiers_file().empty()) {
    return absl::OkStatus();
  }
  return CommonIdentifiers::Load(config.policy().common_identifiers_file())
      .status();
}

absl::StatusOr<std::unique_ptr<HubServer>> HubServer::Start(
    const config::v1::HubConfig& configured, Clock clock) {
  // The hub serves with checked copies of its certificate files.
  absl::StatusOr<std::unique_ptr<StagedTlsFiles>> tls_files =
      StagedTlsFiles::Stage(configured.tls(),
                            HubSpiffeId(configured.federation()),
                            configured.data_dir() + "/tls", "tls");
  if (!tls_files.ok()) return tls_files.status();
  config::v1::HubConfig config = configured;
  *config.mutable_tls() = (*tls_files)->files();
  std::vector<std::string> agencies;
  for (const auto& node : config.nodes()) agencies.push_back(node.agency_id());
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      FederationServerCredentials(
          config.tls(), HubSpiffeId(config.federation()),
          HubAuthorizationPolicy(config.federation(), agencies));
  if (!credentials.ok()) return credentials.status();

  std::unique_ptr<HubServer> hub(new HubServer());
  hub->tls_files_ = *std::move(tls_files);
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
  hub->caps_ = std::make_unique<QueryCaps>(config.policy().caps());
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

  absl::StatusOr<std::unique_ptr<ServerMetrics>> metrics = ServerMetrics::Start(
      config.has_metrics() ? config.metrics().listen_address() : "");
  if (!metrics.ok()) return metrics.status();
  hub->metrics_ = *std::move(metrics);
  Interceptors counted;
  counted.push_back(hub->metrics_->CountCalls());
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.RegisterService(hub->service_.get());
  absl::StatusOr<Serving> server =
      StartServing(&builder, config.listen_address(), *credentials,
                   config.limits().max_message_bytes(),
                   {v1::Hub::service_full_name()}, std::move(counted));
  if (!server.ok()) return server.status();
  hub->serving_ = *std::move(server);
  return hub;
}

void HubServer::Shutdown(absl::Duration grace) { serving_.Stop(grace); }

}  // namespace deconfliction
