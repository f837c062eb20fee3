#include "server/custodian/custodian_config.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "config/fields.h"
#include "config/server_fields.h"
#include "config/text_proto.h"
#include "security/identity.h"

namespace deconfliction {

absl::Status ValidateCustodianConfig(config::v1::CustodianConfig* config) {
  if (absl::Status s = ValidateServerFields(
          config->federation(), config->listen_address(), config->has_tls(),
          config->data_dir(), "custodian");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateAgencyId(config->name(), "name"); !s.ok()) {
    return s;
  }
  if (config->share_file().empty()) {
    return absl::InvalidArgumentError(
        "share_file: required (this custodian's share, from deconflict-keys)");
  }
  if (config->agencies().empty()) {
    return absl::InvalidArgumentError(
        "agencies: at least one agency whose node may ask is required");
  }
  std::set<std::string> agencies;
  for (int i = 0; i < config->agencies_size(); ++i) {
    const std::string field = absl::StrCat("agencies[", i, "]");
    if (absl::Status s = ValidateAgencyId(config->agencies(i), field);
        !s.ok()) {
      return s;
    }
    if (!agencies.insert(config->agencies(i)).second) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": listed twice"));
    }
  }
  for (int i = 0; i < config->caps_size(); ++i) {
    const std::string& agency = config->caps(i).agency_id();
    if (agency != "*" && !agencies.count(agency)) {
      return absl::InvalidArgumentError(
          absl::StrCat("caps[", i,
                       "].agency_id: neither \"*\" nor one of "
                       "the agencies"));
    }
  }
  if (config->has_metrics()) {
    if (absl::Status s = ValidateMetrics(config->mutable_metrics()); !s.ok()) {
      return s;
    }
  }
  using Limits = config::v1::CustodianLimits;
  const LimitRule<Limits> kLimits[] = {
      {"limits.max_elements_per_request", &Limits::max_elements_per_request,
       &Limits::set_max_elements_per_request, kDefaultMaxElementsPerRequest, 1,
       kMaxMaxIdentifiersPerRequest},
      {"limits.max_message_bytes", &Limits::max_message_bytes,
       &Limits::set_max_message_bytes, kDefaultMaxMessageBytes, 64 << 10,
       kMaxMaxMessageBytes},
      {"limits.worker_threads", &Limits::worker_threads,
       &Limits::set_worker_threads, kDefaultCustodianWorkerThreads, 1, 256},
      {"limits.max_queued_requests", &Limits::max_queued_requests,
       &Limits::set_max_queued_requests, kDefaultMaxQueuedRequests, 1, 100000},
  };
  return ApplyLimits(config->mutable_limits(), kLimits);
}

absl::StatusOr<config::v1::CustodianConfig> LoadCustodianConfig(
    const std::string& path) {
  return LoadServerConfig<config::v1::CustodianConfig>(
      path,
      [](config::v1::CustodianConfig* config) {
        std::vector<std::string*> paths = TlsPaths(config->mutable_tls());
        paths.insert(paths.end(),
                     {config->mutable_data_dir(), config->mutable_port_file(),
                      config->mutable_share_file()});
        return paths;
      },
      ValidateCustodianConfig);
}

}  // namespace deconfliction
