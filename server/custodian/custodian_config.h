// The custodian's configuration file (config::v1::CustodianConfig, text
// format).
#ifndef DECONFLICTION_SERVER_CUSTODIAN_CUSTODIAN_CONFIG_H_
#define DECONFLICTION_SERVER_CUSTODIAN_CUSTODIAN_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "api/deconfliction/config/v1/config.pb.h"

namespace deconfliction {

// Defaults and bounds of CustodianLimits (documented in config.proto).
inline constexpr uint32_t kDefaultMaxElementsPerRequest = 1000;
inline constexpr uint32_t kDefaultCustodianWorkerThreads = 2;

// Fills defaults and checks every field: INVALID_ARGUMENT naming the first
// field that is missing, repeated or out of range.
absl::Status ValidateCustodianConfig(config::v1::CustodianConfig* config);

// Reads `path`, resolves relative file names against its directory, fills
// defaults and validates. Errors name the file and the field.
absl::StatusOr<config::v1::CustodianConfig> LoadCustodianConfig(
    const std::string& path);

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_CUSTODIAN_CUSTODIAN_CONFIG_H_
