#include "server/hub/hub_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "config/text_proto.h"
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

namespace {

// The settings `config` (with the staged TLS files) puts in force, with
// its common identifiers read.
absl::StatusOr<HubSettings> SettingsFor(const config::v1::HubConfig& config) {
  HubSettings settings{config, {}};
  if (!config.policy().common_identifiers_file().empty()) {
    absl::StatusOr<CommonIdentifiers> common =
        CommonIdentifiers::Load(config.policy().common_identifiers_file());
    if (!common.ok()) return common.status();
    settings.common = *std::move(common);
  }
  return settings;
}

std::vector<std::string> AgenciesOf(const config::v1::HubConfig& config) {
  std::vector<std::string> agencies;
  for (const auto& node : config.nodes()) agencies.push_back(node.agency_id());
  return agencies;
}

}  // namespace

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
  absl::StatusOr<std::shared_ptr<EnforcedPolicy>> authorization =
      EnforcedPolicy::FromJson(
          HubAuthorizationPolicy(config.federation(), AgenciesOf(config)));
  if (!authorization.ok()) return authorization.status();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      FederationServerCredentials(
          config.tls(), HubSpiffeId(config.federation()), *authorization);
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<HubSettings> settings = SettingsFor(config);
  if (!settings.ok()) return settings.status();

  std::unique_ptr<HubServer> hub(new HubServer());
  hub->tls_files_ = *std::move(tls_files);
  hub->configured_ = configured;
  hub->authorization_ = *std::move(authorization);
  hub->settings_ = std::make_unique<HubSettingsInForce>(*std::move(settings));
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
      hub->settings_.get(), &hub->database_->outbox(), hub->nodes_.get(),
      hub->writes_.get(), clock);
  hub->coordinator_ = std::make_unique<Coordinator>(
      hub->settings_.get(), hub->nodes_.get(), hub->caps_.get(),
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

absl::StatusOr<std::string> HubServer::Reload(
    const config::v1::HubConfig& proposed) {
  if (absl::Status s = CheckOnlyReloadableFieldsChanged(configured_, proposed,
                                                        HubReloadableFields());
      !s.ok()) {
    return s;
  }
  config::v1::HubConfig config = proposed;
  *config.mutable_tls() = tls_files_->files();
  absl::StatusOr<HubSettings> settings = SettingsFor(config);
  if (!settings.ok()) return settings.status();
  const std::vector<std::string> agencies = AgenciesOf(config);
  const std::string policy =
      HubAuthorizationPolicy(config.federation(), agencies);
  if (absl::Status s = AuthorizationEngine::FromJson(policy).status();
      !s.ok()) {
    return s;
  }
  const std::vector<std::string> before = nodes_->agencies();
  if (absl::Status s = nodes_->Update(config); !s.ok()) return s;
  // Cannot fail now: the policy was checked above.
  if (absl::Status s = authorization_->Replace(policy); !s.ok()) return s;
  caps_->Replace(config.policy().caps());
  settings_->Replace(*std::move(settings));
  configured_ = proposed;

  std::vector<std::string> added, removed;
  for (const std::string& agency : agencies) {
    if (std::find(before.begin(), before.end(), agency) == before.end()) {
      added.push_back(agency);
      delivery_->Notify(agency);  // drains what waited for it, if anything
    }
  }
  for (const std::string& agency : before) {
    if (std::find(agencies.begin(), agencies.end(), agency) == agencies.end()) {
      removed.push_back(agency);
    }
  }
  return absl::StrCat(
      agencies.size(),
      " nodes (added: ", added.empty() ? "none" : absl::StrJoin(added, ", "),
      "; removed: ", removed.empty() ? "none" : absl::StrJoin(removed, ", "),
      "), sharing policy and limits in force");
}

void HubServer::Shutdown(absl::Duration grace) { serving_.Stop(grace); }

}  // namespace deconfliction
