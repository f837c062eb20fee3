// HubSettings: what the hub works with that a configuration reload may
// replace while it serves (HubServer::Reload): its nodes, its sharing
// policy with the common identifiers read from their file, and its
// per-call limits. Held in an InForce<HubSettings> (base/in_force.h): each
// lookup and each delivery pass uses the snapshot in force when it starts.
#ifndef DECONFLICTION_SERVER_HUB_HUB_SETTINGS_H_
#define DECONFLICTION_SERVER_HUB_HUB_SETTINGS_H_

#include "api/deconfliction/config/v1/config.pb.h"
#include "base/in_force.h"
#include "server/hub/sharing_policy.h"

namespace deconfliction {

struct HubSettings {
  config::v1::HubConfig config;  // validated (ValidateHubConfig)
  CommonIdentifiers common;      // config.policy().common_identifiers_file()
};

using HubSettingsInForce = InForce<HubSettings>;

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_HUB_SETTINGS_H_
