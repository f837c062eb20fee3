#include "server/hub/hub_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "config/text_proto.h"
#include "rpc/serving.h"
#include "security/authorization.h"
#include "security/identity.h"
#include "security/tls.h"

namespace deconfliction {

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

absl::Status HubServer::CheckFiles(const config::v1::HubConfig& config) {
  if (absl::Status s = CheckOwnTlsFiles(
          config.tls(), HubSpiffeId(config.federation()), "tls");
      !s.ok()) {
    return s;
  }
  return SettingsFor(config).status();
}

absl::StatusOr<std::unique_ptr<HubServer>> HubServer::Start(
    const config::v1::HubConfig& configured, const Clock& clock) {
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
  absl::StatusOr<std::unique_ptr<ServerMetrics>> metrics = ServerMetrics::Start(
      config.has_metrics() ? config.metrics().listen_address() : "");
  if (!metrics.ok()) return metrics.status();
  hub->metrics_ = *std::move(metrics);
  MetricsRegistry& registry = hub->metrics_->registry();
  if (absl::Status s = hub->metrics_->ExposeTls(config.tls()); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<HubDatabase>> database =
      HubDatabase::Open(config.data_dir());
  if (!database.ok()) return database.status();
  hub->database_ = *std::move(database);
  hub->metrics_->ExposeStorage(
      [db = hub->database_.get()](const std::string& property) {
        return db->IntProperty(property);
      });
  absl::StatusOr<std::unique_ptr<NodeChannels>> nodes =
      NodeChannels::Create(config, &registry);
  if (!nodes.ok()) return nodes.status();
  hub->nodes_ = *std::move(nodes);
  hub->ExposeOutbox();
  hub->caps_ = std::make_unique<QueryCaps>(
      config.policy().caps(),
      registry.AddCounterFamily(
          "deconfliction_cap_refusals_total",
          "Lookups the hub refused because the asking agency was over a "
          "query cap, by agency and window (minute, day).",
          {"agency", "window"}));
  hub->writes_ = std::make_unique<WorkQueue>(
      config.limits().worker_threads(), config.limits().max_queued_requests());
  hub->delivery_ = std::make_unique<AlertDelivery>(
      hub->settings_.get(), &hub->database_->outbox(), hub->nodes_.get(),
      hub->writes_.get(), &registry, clock);
  hub->coordinator_ = std::make_unique<Coordinator>(
      hub->settings_.get(), hub->nodes_.get(), hub->caps_.get(),
      hub->database_.get(), hub->writes_.get(), hub->delivery_.get(), clock);
  hub->service_ = std::make_unique<HubService>(hub->coordinator_.get());
  hub->retention_ = std::make_unique<Periodic>(
      kDeliveredAlertsPruneInterval,
      [outbox = &hub->database_->outbox(),
       days = config.limits().alert_retention_days(), clock] {
        absl::StatusOr<uint64_t> forgotten = outbox->ForgetDeliveredBefore(
            clock() - absl::Hours(24) * static_cast<int64_t>(days));
        if (!forgotten.ok()) {
          LogWarning("delivery",
                     "cannot forget delivered alerts past the retention window",
                     {{"reason", std::string(forgotten.status().message())}});
        } else if (*forgotten > 0) {
          LogInfo("delivery",
                  "delivered alerts past the retention window forgotten",
                  {{"alerts", *forgotten}, {"retention_days", days}});
        }
      });

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
  hub->serving_.FollowHealth(
      [db = hub->database_.get()] { return db->Probe(); });
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

void HubServer::ExposeOutbox() {
  // Each scrape reads the outbox (AlertOutbox::BacklogFor) once per agency.
  const auto backlogs = [this] {
    std::vector<std::pair<std::string, AlertOutbox::Backlog>> all;
    for (const std::string& agency : nodes_->agencies()) {
      absl::StatusOr<AlertOutbox::Backlog> backlog =
          database_->outbox().BacklogFor(agency);
      if (backlog.ok()) all.emplace_back(agency, *backlog);
    }
    return all;
  };
  MetricsRegistry& registry = metrics_->registry();
  registry.AddGaugeFamily(
      "deconfliction_hub_outbox",
      "What waits in the hub's outbox for each agency's node: alerts to "
      "deliver, registrations to ask it about again (rechecks), alerts set "
      "aside after repeated refusals.",
      {"agency", "queue"}, [backlogs] {
        std::vector<MetricsRegistry::GaugeSample> samples;
        for (const auto& [agency, backlog] : backlogs()) {
          samples.push_back({{agency, "alerts"}, double(backlog.alerts)});
          samples.push_back({{agency, "rechecks"}, double(backlog.rechecks)});
          samples.push_back({{agency, "set_aside"}, double(backlog.set_aside)});
        }
        return samples;
      });
  registry.AddGaugeFamily(
      "deconfliction_hub_outbox_oldest_alert_age_seconds",
      "Age of the oldest alert waiting for each agency's node (0 when none "
      "waits); alert when it grows: the node is not taking its alerts.",
      {"agency"}, [backlogs] {
        std::vector<MetricsRegistry::GaugeSample> samples;
        const absl::Time now = absl::Now();
        for (const auto& [agency, backlog] : backlogs()) {
          samples.push_back(
              {{agency},
               backlog.alerts == 0
                   ? 0.0
                   : absl::ToDoubleSeconds(now - backlog.oldest_alert)});
        }
        return samples;
      });
}

HubServer::~HubServer() {
  // Scrapes read what is destroyed below.
  if (metrics_ != nullptr) metrics_->StopListening();
}

void HubServer::Shutdown(absl::Duration grace) { serving_.Stop(grace); }

}  // namespace deconfliction
