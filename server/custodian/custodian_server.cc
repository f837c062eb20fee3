#include "server/custodian/custodian_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/server_builder.h>

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "config/text_proto.h"
#include "oprf/group.h"
#include "rpc/serving.h"
#include "security/authorization.h"
#include "security/identity.h"
#include "security/tls.h"
#include "token_key/key_files.h"

namespace deconfliction {
namespace {

// The configured share, checked to be this custodian's.
absl::StatusOr<keys::v1::KeyShareFile> LoadOwnShare(
    const config::v1::CustodianConfig& config) {
  absl::StatusOr<keys::v1::KeyShareFile> share = LoadShare(config.share_file());
  if (!share.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("share_file: ", share.status().message()));
  }
  if (share->custodian() != config.name()) {
    oprf::Wipe(share->mutable_secret());
    return absl::FailedPreconditionError(absl::StrCat(
        "share_file: the share is custodian \"", share->custodian(),
        "\"'s, not \"", config.name(), "\"'s"));
  }
  return share;
}

// Who may ask this custodian for evaluations, as JSON.
std::string PolicyFor(const config::v1::CustodianConfig& config) {
  return CustodianAuthorizationPolicy(
      config.federation(), config.name(),
      {config.agencies().begin(), config.agencies().end()});
}

}  // namespace

absl::Status CustodianServer::CheckFiles(
    const config::v1::CustodianConfig& config) {
  if (absl::Status s = CheckOwnTlsFiles(
          config.tls(), CustodianSpiffeId(config.federation(), config.name()),
          "tls");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<keys::v1::KeyShareFile> share = LoadOwnShare(config);
  if (!share.ok()) return share.status();
  oprf::Wipe(share->mutable_secret());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CustodianServer>> CustodianServer::Start(
    const config::v1::CustodianConfig& configured, const Clock& clock) {
  // The custodian serves with checked copies of its certificate files.
  absl::StatusOr<std::unique_ptr<StagedTlsFiles>> tls_files =
      StagedTlsFiles::Stage(
          configured.tls(),
          CustodianSpiffeId(configured.federation(), configured.name()),
          configured.data_dir() + "/tls", "tls");
  if (!tls_files.ok()) return tls_files.status();
  config::v1::CustodianConfig config = configured;
  *config.mutable_tls() = (*tls_files)->files();
  absl::StatusOr<std::shared_ptr<EnforcedPolicy>> authorization =
      EnforcedPolicy::FromJson(PolicyFor(config));
  if (!authorization.ok()) return authorization.status();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      FederationServerCredentials(
          config.tls(), CustodianSpiffeId(config.federation(), config.name()),
          *authorization);
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<keys::v1::KeyShareFile> share = LoadOwnShare(config);
  if (!share.ok()) return share.status();
  // However Start ends, this copy of the secret is wiped.
  absl::Cleanup wipe_share = [&share] { oprf::Wipe(share->mutable_secret()); };

  std::unique_ptr<CustodianServer> server(new CustodianServer());
  server->tls_files_ = *std::move(tls_files);
  server->configured_ = configured;
  server->authorization_ = *std::move(authorization);
  server->config_ = config;
  absl::StatusOr<std::unique_ptr<ServerMetrics>> metrics = ServerMetrics::Start(
      config.has_metrics() ? config.metrics().listen_address() : "");
  if (!metrics.ok()) return metrics.status();
  server->metrics_ = *std::move(metrics);
  MetricsRegistry& registry = server->metrics_->registry();
  if (absl::Status s = server->metrics_->ExposeTls(config.tls()); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<AuditDatabase>> database =
      AuditDatabase::Open(config.data_dir());
  if (!database.ok()) return database.status();
  server->database_ = *std::move(database);
  server->metrics_->ExposeStorage(
      [db = server->database_.get()](const std::string& property) {
        return db->IntProperty(property);
      });
  server->caps_ = std::make_unique<QueryCaps>(
      config.caps(),
      registry.AddCounterFamily(
          "deconfliction_cap_refusals_total",
          "Evaluations this custodian refused because the asking agency was "
          "over a cap, by agency and window (minute, day).",
          {"agency", "window"}));
  absl::StatusOr<std::unique_ptr<Custodian>> custodian =
      Custodian::Create(&server->config_, *share, server->caps_.get(),
                        &server->database_->audit(), &registry, clock);
  if (!custodian.ok()) return custodian.status();
  server->custodian_ = *std::move(custodian);
  const auto& limits = config.limits();
  server->queue_ = std::make_unique<WorkQueue>(limits.worker_threads(),
                                               limits.max_queued_requests());
  server->service_ = std::make_unique<TokenIssuerService>(
      server->custodian_.get(), server->queue_.get());

  Interceptors counted;
  counted.push_back(server->metrics_->CountCalls());
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.RegisterService(server->service_.get());
  absl::StatusOr<Serving> serving =
      StartServing(&builder, config.listen_address(), *credentials,
                   limits.max_message_bytes(),
                   {v1::TokenIssuer::service_full_name()}, std::move(counted));
  if (!serving.ok()) return serving.status();
  server->serving_ = *std::move(serving);
  server->serving_.FollowHealth(
      [db = server->database_.get()] { return db->Probe(); });
  return server;
}

absl::StatusOr<std::string> CustodianServer::Reload(
    const config::v1::CustodianConfig& proposed) {
  if (absl::Status s = CheckOnlyReloadableFieldsChanged(
          configured_, proposed, CustodianReloadableFields());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = authorization_->Replace(PolicyFor(proposed)); !s.ok()) {
    return s;
  }
  caps_->Replace(proposed.caps());
  configured_ = proposed;
  return absl::StrCat(proposed.agencies_size(),
                      " agencies and their caps in force");
}

CustodianServer::~CustodianServer() {
  // Scrapes read what is destroyed below.
  if (metrics_ != nullptr) metrics_->StopListening();
}

void CustodianServer::Shutdown(absl::Duration grace) { serving_.Stop(grace); }

}  // namespace deconfliction
