// What the node's and the hub's configurations share: the fields every
// server of the federation has, and the bounds of the limits both enforce.
#ifndef DECONFLICTION_CONFIG_SERVER_FIELDS_H_
#define DECONFLICTION_CONFIG_SERVER_FIELDS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

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

}  // namespace deconfliction

#endif  // DECONFLICTION_CONFIG_SERVER_FIELDS_H_
