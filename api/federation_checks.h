// What every message that crosses the federation must be, checked on the
// receiving side: the hub checks a node's Lookup and its answers to
// LookupTokens, a node checks the hub's DeliverAlerts. A peer is trusted to
// be who its certificate says, never to send well-formed data: one agency
// must not be able to freeze another's alerts with a 3 MB contact, or put
// escape sequences on its investigators' screens.
//
// Every check returns INVALID_ARGUMENT naming the field (`alerts[3].token`)
// and the reason, echoing at most a short, escaped part of the value.
#ifndef DECONFLICTION_API_FEDERATION_CHECKS_H_
#define DECONFLICTION_API_FEDERATION_CHECKS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "api/deconfliction/v1/federation.pb.h"

namespace deconfliction {

// Free-text fields (contact fields, caveat, close reason): UTF-8 text
// without control characters (base/untrusted_text.h), at most this long.
inline constexpr size_t kMaxTextFieldBytes = 512;
// Case references: what storage/keys.h ValidateCaseRef admits.
inline constexpr size_t kMaxCaseRefBytes = 128;
// Agency ids: security/identity.h ValidateAgencyId.
inline constexpr size_t kMaxAgencyIdBytes = 63;
// Alert ids, as the hub makes them.
inline constexpr size_t kMaxAlertIdBytes = 128;
// Hits one answer may carry for one token.
inline constexpr int kMaxHitsPerToken = 100;
// Bytes of a token (identifiers/token.h kTokenBytes; the node asserts they
// agree).
inline constexpr size_t kFederationTokenBytes = 32;

// Each field of `contact`: free text of at most kMaxTextFieldBytes.
absl::Status CheckContact(const v1::Contact& contact, absl::string_view field);

// A window of valid timestamps whose start is not after its end.
absl::Status CheckWindow(const v1::TimeWindow& window, absl::string_view field);

// A query of exactly kFederationTokenBytes with a sane window.
absl::Status CheckTokenQuery(const v1::TokenQuery& query,
                             absl::string_view field);

// A node's hit: contact, caveat and case reference within bounds, a known
// sharing level, valid timestamps.
absl::Status CheckTokenHit(const v1::TokenHit& hit, absl::string_view field);

// A node's answer to `queries` lookups: one answer per query, at most
// kMaxHitsPerToken hits each, every hit sound.
absl::Status CheckTokenLookupResponse(const v1::TokenLookupResponse& response,
                                      int queries);

// A lookup as the hub receives it, apart from its size (the hub's own
// limit): a known purpose, a sound requester contact, sound queries.
absl::Status CheckFederatedLookup(const v1::FederatedLookupRequest& request);

// An alert as a node receives it: an id, a known kind, a token of
// kFederationTokenBytes, bounded agency ids, sound contacts, caveat, case
// reference and window.
absl::Status CheckAlertDelivery(const v1::AlertDelivery& alert,
                                absl::string_view field);

}  // namespace deconfliction

#endif  // DECONFLICTION_API_FEDERATION_CHECKS_H_
