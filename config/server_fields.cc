#include "config/server_fields.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "config/fields.h"
#include "security/identity.h"

namespace deconfliction {

absl::Status ValidateServerFields(const std::string& federation,
                                  const std::string& listen_address,
                                  bool has_tls, const std::string& data_dir,
                                  absl::string_view role) {
  if (absl::Status s = ValidateFederationName(federation, "federation");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateAddress(listen_address, "listen_address");
      !s.ok()) {
    return s;
  }
  if (!has_tls) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls: required (the ", role, " serves mutual TLS only)"));
  }
  if (data_dir.empty()) {
    return absl::InvalidArgumentError("data_dir: required");
  }
  return absl::OkStatus();
}

absl::Status ValidateMetrics(config::v1::MetricsConfig* metrics) {
  if (metrics->listen_address().empty()) {
    metrics->set_listen_address(kDefaultMetricsAddress);
  }
  return ValidateAddress(metrics->listen_address(), "metrics.listen_address");
}

std::vector<std::string*> TlsPaths(config::v1::TlsFiles* tls) {
  return {tls->mutable_cert_file(), tls->mutable_key_file(),
          tls->mutable_ca_file(), tls->mutable_crl_dir()};
}

void ResolveAgainst(const std::string& config_path,
                    const std::vector<std::string*>& paths) {
  const std::string base =
      std::filesystem::path(config_path).parent_path().string();
  for (std::string* path : paths) ResolvePath(base, path);
}

}  // namespace deconfliction
