#include "server/node/node_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/server_builder.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "config/text_proto.h"
#include "identifiers/jurisdictions.h"
#include "rpc/grpc_status.h"
#include "rpc/serving.h"
#include "security/authorization.h"
#include "security/identity.h"
#include "security/staged_tls_files.h"
#include "security/tls.h"

namespace deconfliction {
namespace {

constexpr int kMaxStreamsPerConnection = 100;

}  // namespace

absl::Status NodeServer::CheckFiles(const config::v1::NodeConfig& config) {
  if (absl::Status s = CheckOwnTlsFiles(
          config.tls(), NodeSpiffeId(config.federation(), config.agency_id()),
          "tls");
      !s.ok()) {
    return s;
  }
  if (absl::Status tables = CheckJurisdictionTables(); !tables.ok()) {
    return tables;
  }
  // The custodians' clients are made but never called.
  WorkQueue completions(1, 1);
  MetricsRegistry metrics;
  return NodeTokens::Create(config, &completions, &metrics).status();
}

absl::StatusOr<std::unique_ptr<NodeServer>> NodeServer::Start(
    const config::v1::NodeConfig& configured, const Clock& clock) {
  // The node serves with checked copies of its certificate files.
  absl::StatusOr<std::unique_ptr<StagedTlsFiles>> tls_files =
      StagedTlsFiles::Stage(
          configured.tls(),
          NodeSpiffeId(configured.federation(), configured.agency_id()),
          configured.data_dir() + "/tls", "tls");
  if (!tls_files.ok()) return tls_files.status();
  config::v1::NodeConfig config = configured;
  *config.mutable_tls() = (*tls_files)->files();
  // Plates are checked against ISO 3166: without the tables every plate
  // would be refused, so the node does not start.
  if (absl::Status tables = CheckJurisdictionTables(); !tables.ok()) {
    return tables;
  }
  absl::StatusOr<std::shared_ptr<EnforcedPolicy>> authorization =
      EnforcedPolicy::FromJson(
          NodeAuthorizationPolicy(config.federation(), config.agency_id()));
  if (!authorization.ok()) return authorization.status();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      FederationServerCredentials(
          config.tls(), NodeSpiffeId(config.federation(), config.agency_id()),
          *std::move(authorization));
  if (!credentials.ok()) return credentials.status();
  std::unique_ptr<NodeServer> server(new NodeServer());
  server->tls_files_ = *std::move(tls_files);
  server->configured_ = configured;
  server->config_ = config;
  const auto& limits = config.limits();
  server->queue_ = std::make_unique<WorkQueue>(limits.worker_threads(),
                                               limits.max_queued_requests());
  absl::StatusOr<std::unique_ptr<ServerMetrics>> metrics = ServerMetrics::Start(
      config.has_metrics() ? config.metrics().listen_address() : "");
  if (!metrics.ok()) return metrics.status();
  server->metrics_ = *std::move(metrics);
  if (absl::Status s = server->metrics_->ExposeTls(config.tls()); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<NodeTokens>> tokens = NodeTokens::Create(
      config, server->queue_.get(), &server->metrics_->registry());
  if (!tokens.ok()) return tokens.status();
  server->tokens_ = *std::move(tokens);
  absl::StatusOr<std::unique_ptr<NodeDatabase>> database =
      NodeDatabase::Open(config.data_dir(), config.agency_id(),
                         server->tokens_->tokenizer().epoch(), clock);
  if (!database.ok()) return database.status();
  server->database_ = *std::move(database);
  server->metrics_->ExposeStorage(
      [db = server->database_.get()](const std::string& property) {
        return db->IntProperty(property);
      });
  server->ExposeFederationQueue();
  if (config.has_hub()) {
    absl::StatusOr<std::unique_ptr<HubClient>> hub = HubClient::Create(config);
    if (!hub.ok()) return hub.status();
    server->hub_ = *std::move(hub);
    server->retry_ = std::make_unique<FederationRetry>(
        &server->config_, server->hub_.get(),
        &server->database_->federation_queue(), clock);
    server->audit_anchoring_ = std::make_unique<AuditAnchoring>(
        &server->database_->audit(), server->hub_.get(),
        absl::Milliseconds(config.hub().timeout_ms()), clock);
  }
  NodeDatabase* db = server->database_.get();
  server->token_retry_ = std::make_unique<TokenRetry>(
      &server->config_, &server->tokens_->tokenizer(), db, config.has_hub(),
      clock);
  server->federated_ = std::make_unique<FederatedCheck>(
      &server->config_, server->hub_.get(), db, server->queue_.get(), clock);
  server->node_ = std::make_unique<AgencyNode>(
      &server->config_, &server->tokens_->tokenizer(), db,
      server->federated_.get(), clock);
  server->token_lookup_ =
      std::make_unique<TokenLookup>(&server->config_, db, clock);
  server->alert_intake_ = std::make_unique<AlertIntake>(
      &server->config_, db, server->hub_.get(), clock);
  if (server->hub_ != nullptr) {
    server->alert_recovery_ =
        std::make_unique<AlertRecovery>(&server->config_, server->hub_.get(),
                                        db, server->alert_intake_.get(), clock);
  } else if (!db->alert_recovery().empty()) {
    // Without a hub, there is nothing to recover from.
    if (absl::Status s = db->FinishAlertRecovery(0); !s.ok()) return s;
  }
  server->bulk_queue_ = std::make_unique<WorkQueue>(
      limits.worker_threads(), limits.max_bulk_streams() * kBulkChunksInFlight);
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

  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             kMaxStreamsPerConnection);
  builder.RegisterService(server->registry_.get());
  builder.RegisterService(server->deconfliction_.get());
  builder.RegisterService(server->federation_.get());
  builder.RegisterService(server->alerts_.get());
  Interceptors counted;
  counted.push_back(server->metrics_->CountCalls());
  absl::StatusOr<Serving> serving =
      StartServing(&builder, config.listen_address(), *credentials,
                   limits.max_message_bytes(),
                   {v1::Registry::service_full_name(),
                    v1::Deconfliction::service_full_name(),
                    v1::NodeFederation::service_full_name(),
                    v1::Alerts::service_full_name()},
                   std::move(counted));
  if (!serving.ok()) return serving.status();
  server->serving_ = *std::move(serving);
  server->serving_.FollowHealth(
      [db = server->database_.get()] { return db->Probe(); });
  return server;
}

absl::StatusOr<std::string> NodeServer::Reload(
    const config::v1::NodeConfig& proposed) {
  if (proposed.has_hub() != configured_.has_hub()) {
    return absl::FailedPreconditionError(
        "hub: adding or removing the hub section changes only with a restart");
  }
  if (absl::Status s = CheckOnlyReloadableFieldsChanged(configured_, proposed,
                                                        NodeReloadableFields());
      !s.ok()) {
    return s;
  }
  config::v1::NodeConfig config = proposed;
  *config.mutable_tls() = tls_files_->files();
  if (absl::Status s = tokens_->custodians().Connect(config); !s.ok()) {
    return s;
  }
  if (hub_ != nullptr) {
    if (absl::Status s = hub_->Connect(config); !s.ok()) return s;
  }
  configured_ = proposed;
  return absl::StrCat(
      config.has_hub() ? absl::StrCat("hub at ", config.hub().address(), ", ")
                       : "",
      config.token_key().custodians_size(), " custodians' addresses in force");
}

void NodeServer::ExposeFederationQueue() {
  const auto waiting = [this] {
    absl::StatusOr<FederationQueue::Backlog> backlog =
        database_->federation_queue().Waiting();
    return backlog.ok() ? *backlog : FederationQueue::Backlog();
  };
  MetricsRegistry& registry = metrics_->registry();
  registry.AddGauge(
      "deconfliction_node_lookups_waiting_for_hub",
      "Registrations whose federated lookup the hub has not taken yet (it "
      "was down, or refused it over the agency's cap); sent again until it "
      "does.",
      [waiting] { return static_cast<double>(waiting().lookups); });
  registry.AddGauge(
      "deconfliction_node_oldest_lookup_waiting_seconds",
      "How long the oldest of them has waited (0 when none): its matches "
      "are not alerted until the hub takes it.",
      [waiting] {
        const FederationQueue::Backlog backlog = waiting();
        return backlog.lookups == 0
                   ? 0.0
                   : absl::ToDoubleSeconds(absl::Now() - backlog.oldest);
      });
}

NodeServer::~NodeServer() {
  // Scrapes read what is destroyed below.
  if (metrics_ != nullptr) metrics_->StopListening();
}

void NodeServer::Shutdown(absl::Duration grace) {
  // Watch streams never end by themselves: they end now, with the cursor
  // to resume after, instead of holding the grace period up.
  if (alerts_ != nullptr) alerts_->EndWatches();
  serving_.Stop(grace);
}

}  // namespace deconfliction
