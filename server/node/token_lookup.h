// TokenLookup: the node's answer to the hub's token lookup
// (NodeFederation.LookupTokens): for each token, the live entries holding
// it, as pointers (contact, caveat, sharing; the case reference only where
// the owner shares it). Every answer is audited before it leaves the node.
//
// Thread safety: Answer may be called concurrently.
#ifndef DECONFLICTION_SERVER_NODE_TOKEN_LOOKUP_H_
#define DECONFLICTION_SERVER_NODE_TOKEN_LOOKUP_H_

#include "absl/status/statusor.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/federation.pb.h"
#include "base/clock.h"
#include "security/identity.h"
#include "storage/node_database.h"

namespace deconfliction {

// One index hit (a posting from CaseStore::Lookup, taken apart: its fields
// move into `shown`) as a node shows it: the case's pointer, and its case
// reference when `with_case_ref` (always to the agency's own users; to
// others only under SHARING_POINTER_WITH_CASE_REF).
void ShowPosting(storage::v1::Posting* posting, bool with_case_ref,
                 v1::TokenHit* shown);

class TokenLookup {
 public:
  // Everything must outlive the lookup.
  TokenLookup(const config::v1::NodeConfig* config, NodeDatabase* database,
              Clock clock)
      : config_(config), database_(database), clock_(std::move(clock)) {}

  // Builds the answer in `response` (empty; the gRPC call's own, on its
  // arena). INVALID_ARGUMENT for a token that is not 32 bytes or a batch
  // over limits.max_identifiers_per_request; the audit's error when the
  // answer cannot be audited. `response` is not for the caller unless OK.
  absl::Status Answer(const v1::TokenLookupRequest& request,
                      const FederationIdentity& caller,
                      v1::TokenLookupResponse* response);

 private:
  const config::v1::NodeConfig* const config_;
  NodeDatabase* const database_;
  const Clock clock_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_TOKEN_LOOKUP_H_
