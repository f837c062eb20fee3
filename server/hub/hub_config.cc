#include "server/hub/hub_config.h"

#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "config/fields.h"
#include "config/server_fields.h"
#include "config/text_proto.h"
#include "security/identity.h"

namespace deconfliction {

absl::Status ValidateHubConfig(config::v1::HubConfig* config) {
  if (absl::Status s =
          ValidateServerFields(config->federation(), config->listen_address(),
                               config->has_tls(), config->data_dir(), "hub");
      !s.ok()) {
    return s;
  }
  if (config->nodes().empty()) {
    return absl::InvalidArgumentError("nodes: at least one node is required");
  }
  std::set<std::string> agencies;
  for (int i = 0; i < config->nodes_size(); ++i) {
    const auto& node = config->nodes(i);
    const std::string field = absl::StrCat("nodes[", i, "]");
    if (absl::Status s =
            ValidateAgencyId(node.agency_id(), field + ".agency_id");
        !s.ok()) {
      return s;
    }
    if (!agencies.insert(node.agency_id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".agency_id: \"", node.agency_id(), "\" is listed twice"));
    }
    if (absl::Status s = ValidateAddress(node.address(), field + ".address");
        !s.ok()) {
      return s;
    }
  }
  const auto& policy = config->policy();
  for (int i = 0; i < policy.caps_size(); ++i) {
    const std::string& agency = policy.caps(i).agency_id();
    if (agency != "*" && !agencies.count(agency)) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy.caps[", i, "].agency_id: \"", agency,
                       "\" is neither \"*\" nor a configured node"));
    }
  }
  if (policy.coordination_centre_agency_id().empty() ||
      policy.coordination_centre_contact().name().empty()) {
    return absl::InvalidArgumentError(
        "policy.coordination_centre_agency_id and "
        "policy.coordination_centre_contact.name: required (whom a querier "
        "is sent to for a silent entry)");
  }
  using Limits = config::v1::HubLimits;
  const LimitRule<Limits> kLimits[] = {
      {"limits.max_tokens_per_request", &Limits::max_tokens_per_request,
       &Limits::set_max_tokens_per_request, kDefaultMaxTokensPerRequest, 1,
       kMaxMaxIdentifiersPerRequest},
      {"limits.max_message_bytes", &Limits::max_message_bytes,
       &Limits::set_max_message_bytes, kDefaultMaxMessageBytes, 64 << 10,
       kMaxMaxMessageBytes},
      {"limits.node_timeout_ms", &Limits::node_timeout_ms,
       &Limits::set_node_timeout_ms, kDefaultNodeTimeoutMs, 50, 600000},
      {"limits.hung_node_timeout_ms", &Limits::hung_node_timeout_ms,
       &Limits::set_hung_node_timeout_ms, kDefaultHungNodeTimeoutMs, 10,
       600000},
      {"limits.worker_threads", &Limits::worker_threads,
       &Limits::set_worker_threads, kDefaultHubWorkerThreads, 1, 256},
      {"limits.max_queued_requests", &Limits::max_queued_requests,
       &Limits::set_max_queued_requests, kDefaultMaxQueuedRequests, 1, 100000},
      {"limits.alert_retention_days", &Limits::alert_retention_days,
       &Limits::set_alert_retention_days, kDefaultAlertRetentionDays, 1, 3650},
  };
  if (config->has_metrics()) {
    if (absl::Status s = ValidateMetrics(config->mutable_metrics()); !s.ok()) {
      return s;
    }
  }
  if (config->limits().alert_delivery_delay_ms() > 60000) {
    return absl::InvalidArgumentError(
        "limits.alert_delivery_delay_ms: at most 60000");
  }
  return ApplyLimits(config->mutable_limits(), kLimits);
}

absl::StatusOr<config::v1::HubConfig> LoadHubConfig(const std::string& path) {
  return LoadServerConfig<config::v1::HubConfig>(
      path,
      [](config::v1::HubConfig* config) {
        std::vector<std::string*> paths = TlsPaths(config->mutable_tls());
        paths.insert(
            paths.end(),
            {config->mutable_data_dir(), config->mutable_port_file(),
             config->mutable_policy()->mutable_common_identifiers_file()});
        return paths;
      },
      ValidateHubConfig);
}

}  // namespace deconfliction
