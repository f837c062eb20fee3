#include "server/node/node_config.h"

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "config/fields.h"
#include "config/server_fields.h"
#include "config/text_proto.h"
#include "phonenumbers/phonenumberutil.h"
#include "security/identity.h"

namespace deconfliction {
namespace {

absl::Status ValidateTokenKey(config::v1::TokenKeyConnection* token_key) {
  if (token_key->bundle_file().empty()) {
    return absl::InvalidArgumentError(
        "token_key.bundle_file: required (the token-key bundle written by "
        "deconflict-keys)");
  }
  if (token_key->custodians().empty()) {
    return absl::InvalidArgumentError(
        "token_key.custodians: at least the bundle's threshold of custodians "
        "are required");
  }
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < token_key->custodians_size(); ++i) {
    const config::v1::CustodianAddress& custodian = token_key->custodians(i);
    const std::string field = absl::StrCat("token_key.custodians[", i, "]");
    if (absl::Status s =
            ValidateAgencyId(custodian.name(), absl::StrCat(field, ".name"));
        !s.ok()) {
      return s;
    }
    if (!names.insert(custodian.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name: \"", custodian.name(), "\" is repeated"));
    }
    if (absl::Status s = ValidateAddress(custodian.address(),
                                         absl::StrCat(field, ".address"));
        !s.ok()) {
      return s;
    }
  }
  uint32_t timeout = token_key->timeout_ms();
  if (absl::Status s = DefaultAndBound(&timeout, kDefaultCustodianTimeoutMs, 50,
                                       600000, "token_key.timeout_ms");
      !s.ok()) {
    return s;
  }
  token_key->set_timeout_ms(timeout);
  if (!token_key->has_cache_entries()) {
    token_key->set_cache_entries(kDefaultTokenCacheEntries);
  } else if (token_key->cache_entries() > kMaxTokenCacheEntries) {
    return absl::InvalidArgumentError(absl::StrCat(
        "token_key.cache_entries: at most ", kMaxTokenCacheEntries));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateNodeConfig(config::v1::NodeConfig* config) {
  if (absl::Status s =
          ValidateServerFields(config->federation(), config->listen_address(),
                               config->has_tls(), config->data_dir(), "node");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateAgencyId(config->agency_id(), "agency_id");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateTokenKey(config->mutable_token_key()); !s.ok()) {
    return s;
  }
  if (config->default_region().empty()) {
    return absl::InvalidArgumentError(
        "default_region: required (ISO 3166-1 alpha-2, e.g. \"CA\")");
  }
  const auto& phones = *i18n::phonenumbers::PhoneNumberUtil::GetInstance();
  if (phones.GetCountryCodeForRegion(config->default_region()) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("default_region: \"", config->default_region(),
                     "\" is not an ISO 3166-1 alpha-2 region (upper case)"));
  }
  uint32_t retention = config->default_retention_days();
  if (absl::Status s = DefaultAndBound(&retention, kDefaultRetentionDays, 1,
                                       36500, "default_retention_days");
      !s.ok()) {
    return s;
  }
  config->set_default_retention_days(retention);
  if (config->has_hub()) {
    if (absl::Status s =
            ValidateAddress(config->hub().address(), "hub.address");
        !s.ok()) {
      return s;
    }
    uint32_t timeout = config->hub().timeout_ms();
    if (absl::Status s = DefaultAndBound(&timeout, kDefaultHubTimeoutMs, 50,
                                         600000, "hub.timeout_ms");
        !s.ok()) {
      return s;
    }
    config->mutable_hub()->set_timeout_ms(timeout);
  }
  if (config->has_metrics()) {
    if (absl::Status s = ValidateMetrics(config->mutable_metrics()); !s.ok()) {
      return s;
    }
  }
  config::v1::NodeLimits* limits = config->mutable_limits();
  using Limits = config::v1::NodeLimits;
  const LimitRule<Limits> kLimits[] = {
      {"limits.max_identifiers_per_request",
       &Limits::max_identifiers_per_request,
       &Limits::set_max_identifiers_per_request,
       kDefaultMaxIdentifiersPerRequest, 1, kMaxMaxIdentifiersPerRequest},
      {"limits.max_message_bytes", &Limits::max_message_bytes,
       &Limits::set_max_message_bytes, kDefaultMaxMessageBytes, 64 << 10,
       kMaxMaxMessageBytes},
      {"limits.worker_threads", &Limits::worker_threads,
       &Limits::set_worker_threads, kDefaultWorkerThreads, 1, 256},
      {"limits.max_queued_requests", &Limits::max_queued_requests,
       &Limits::set_max_queued_requests, kDefaultMaxQueuedRequests, 1, 100000},
      {"limits.max_bulk_streams", &Limits::max_bulk_streams,
       &Limits::set_max_bulk_streams, kDefaultMaxBulkStreams, 1, 1024},
  };
  return ApplyLimits(limits, kLimits);
}

absl::StatusOr<config::v1::NodeConfig> LoadNodeConfig(const std::string& path) {
  return LoadServerConfig<config::v1::NodeConfig>(
      path,
      [](config::v1::NodeConfig* config) {
        std::vector<std::string*> paths = TlsPaths(config->mutable_tls());
        paths.insert(paths.end(),
                     {config->mutable_data_dir(),
                      config->mutable_token_key()->mutable_bundle_file(),
                      config->mutable_port_file()});
        return paths;
      },
      ValidateNodeConfig);
}

}  // namespace deconfliction
