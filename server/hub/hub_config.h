// The hub's configuration file (config::v1::HubConfig, text format).
#ifndef DECONFLICTION_SERVER_HUB_HUB_CONFIG_H_
#define DECONFLICTION_SERVER_HUB_HUB_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "api/deconfliction/config/v1/config.pb.h"

namespace deconfliction {

// Defaults and bounds of HubLimits (documented in config.proto).
inline constexpr uint32_t kDefaultMaxTokensPerRequest = 1000;
inline constexpr uint32_t kDefaultNodeTimeoutMs = 3000;
inline constexpr uint32_t kDefaultHungNodeTimeoutMs = 500;
inline constexpr uint32_t kDefaultHubWorkerThreads = 2;
inline constexpr uint32_t kDefaultAlertRetentionDays = 30;

// Reads `path`, resolves relative file names against its directory, fills
// defaults and validates. Errors name the file and the field.
absl::StatusOr<config::v1::HubConfig> LoadHubConfig(const std::string& path);

// Fills defaults and checks every field: INVALID_ARGUMENT naming the first
// field that is missing, repeated or out of range.
absl::Status ValidateHubConfig(config::v1::HubConfig* config);

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_HUB_CONFIG_H_
