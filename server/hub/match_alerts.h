// Which alerts a match raises, and their ids. Pure functions, used by the
// hub when a lookup hits and when a recheck finds a standing match.
//
//   registration matched  → the entry's owner (about the registrant) and
//                           the registrant (about the owner, or about the
//                           coordination centre for a silent entry)
//   check hit             → the entry's owner (someone is looking at it)
//   silent entry hit      → also the coordination centre, naming both sides
//
// Alert ids are deterministic (SHA-256 of kind, token, owner, requester,
// recipient, and for checks the UTC day), so the same match delivered twice,
// or registered twice, is one alert.
#ifndef DECONFLICTION_SERVER_HUB_MATCH_ALERTS_H_
#define DECONFLICTION_SERVER_HUB_MATCH_ALERTS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/storage/v1/records.pb.h"
#include "api/deconfliction/v1/federation.pb.h"

namespace deconfliction {

struct MatchRequest {
  v1::LookupPurpose purpose = v1::LOOKUP_PURPOSE_UNSPECIFIED;
  std::string requester;  // agency id, from its certificate
  v1::Contact requester_contact;
  absl::Time now;
  // The registering case's sharing (FederatedLookupRequest).
  v1::Sharing requester_sharing = v1::SHARING_UNSPECIFIED;
};

// The outbox records for one hit of `owner`'s entry on `query`.
std::vector<storage::v1::OutboxRecord> AlertsForHit(
    const MatchRequest& request, const v1::TokenQuery& query,
    const std::string& owner, const v1::TokenHit& hit,
    const config::v1::SharingPolicy& policy);

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_MATCH_ALERTS_H_
