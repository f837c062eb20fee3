// What the servers' configurations share: the fields every server of the
// federation has, its metrics section, and the bounds of the limits the
// node and the hub both enforce.
#ifndef DECONFLICTION_CONFIG_SERVER_FIELDS_H_
#define DECONFLICTION_CONFIG_SERVER_FIELDS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "config/text_proto.h"

namespace deconfliction {

// Defaults and bounds shared by NodeLimits and HubLimits (documented in
// config.proto).
inline constexpr uint32_t kMaxMaxIdentifiersPerRequest = 10000;
inline constexpr uint32_t kDefaultMaxMessageBytes = 4 << 20;
inline constexpr uint32_t kMaxMaxMessageBytes = 64 << 20;
inline constexpr uint32_t kDefaultMaxQueuedRequests = 256;

// The fields every server of the federation has: federation,
// listen_address, tls and data_dir. `role` ("node", "hub") is named in the
// message for a missing tls block. INVALID_ARGUMENT naming the field.
absl::Status ValidateServerFields(const std::string& federation,
                                  const std::string& listen_address,
                                  bool has_tls, const std::string& data_dir,
                                  absl::string_view role);

// A metrics section without listen_address listens here (loopback: the
// listener has no TLS and no authentication).
inline constexpr char kDefaultMetricsAddress[] = "127.0.0.1:9464";

// Fills metrics.listen_address's default and checks it is host:port.
absl::Status ValidateMetrics(config::v1::MetricsConfig* metrics);

// The four file names of a TlsFiles block, for LoadServerConfig.
std::vector<std::string*> TlsPaths(config::v1::TlsFiles* tls);

// Resolves each relative name in `paths` against the directory of the
// configuration file `config_path`.
void ResolveAgainst(const std::string& config_path,
                    const std::vector<std::string*>& paths);

// Reads a server's configuration file: text format, the relative file
// names `paths` returns resolved against the file's directory, then
// `validate` (which fills defaults). Errors name the file and the field.
template <typename Config>
absl::StatusOr<Config> LoadServerConfig(
    const std::string& path,
    const std::function<std::vector<std::string*>(Config*)>& paths,
    const std::function<absl::Status(Config*)>& validate) {
  Config config;
  if (absl::Status s = LoadTextProto(path, &config); !s.ok()) return s;
  ResolveAgainst(path, paths(&config));
  if (absl::Status s = validate(&config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  return config;
}

}  // namespace deconfliction

#endif  // DECONFLICTION_CONFIG_SERVER_FIELDS_H_
