// The node's configuration file (config::v1::NodeConfig, text format).
#ifndef DECONFLICTION_SERVER_NODE_CONFIG_H_
#define DECONFLICTION_SERVER_NODE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "api/deconfliction/config/v1/config.pb.h"

namespace deconfliction {

// Defaults and bounds of NodeLimits (documented in config.proto).
inline constexpr uint32_t kDefaultMaxIdentifiersPerRequest = 1000;
inline constexpr uint32_t kMaxMaxIdentifiersPerRequest = 10000;
inline constexpr uint32_t kDefaultMaxMessageBytes = 4 << 20;
inline constexpr uint32_t kMaxMaxMessageBytes = 64 << 20;
inline constexpr uint32_t kDefaultWorkerThreads = 4;
inline constexpr uint32_t kDefaultMaxQueuedRequests = 256;
inline constexpr uint32_t kDefaultMaxBulkStreams = 8;
inline constexpr uint32_t kDefaultRetentionDays = 365;
inline constexpr uint32_t kDefaultHubTimeoutMs = 5000;

// Reads `path`, resolves relative file names against the file's directory,
// fills defaults and validates (ValidateNodeConfig). Errors name the file
// and the field.
absl::StatusOr<config::v1::NodeConfig> LoadNodeConfig(const std::string& path);

// Fills defaults in `config` and checks every field: INVALID_ARGUMENT naming
// the first field that is missing or out of range.
absl::Status ValidateNodeConfig(config::v1::NodeConfig* config);

// The fields every server of the federation has: federation,
// listen_address, tls and data_dir. `role` ("node", "hub") is named in the
// message for a missing tls block.
absl::Status ValidateServerFields(const std::string& federation,
                                  const std::string& listen_address,
                                  bool has_tls, const std::string& data_dir,
                                  absl::string_view role);

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_CONFIG_H_
