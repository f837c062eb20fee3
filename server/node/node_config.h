// The node's configuration file (config::v1::NodeConfig, text format).
#ifndef DECONFLICTION_SERVER_NODE_NODE_CONFIG_H_
#define DECONFLICTION_SERVER_NODE_NODE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "config/server_fields.h"

namespace deconfliction {

// Defaults and bounds of NodeLimits (documented in config.proto).
inline constexpr uint32_t kDefaultMaxIdentifiersPerRequest = 1000;
inline constexpr uint32_t kDefaultWorkerThreads = 4;
inline constexpr uint32_t kDefaultMaxBulkStreams = 8;
inline constexpr uint32_t kDefaultRetentionDays = 365;
inline constexpr uint32_t kDefaultHubTimeoutMs = 5000;
inline constexpr uint32_t kDefaultCustodianTimeoutMs = 2000;
inline constexpr uint32_t kDefaultTokenCacheEntries = 100000;
inline constexpr uint32_t kMaxTokenCacheEntries = 10000000;

// Reads `path`, resolves relative file names against the file's directory,
// fills defaults and validates (ValidateNodeConfig). Errors name the file
// and the field.
absl::StatusOr<config::v1::NodeConfig> LoadNodeConfig(const std::string& path);

// Fills defaults in `config` and checks every field: INVALID_ARGUMENT naming
// the first field that is missing or out of range.
absl::Status ValidateNodeConfig(config::v1::NodeConfig* config);

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_NODE_CONFIG_H_
