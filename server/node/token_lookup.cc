#include "server/node/token_lookup.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "identifiers/token.h"

namespace deconfliction {

v1::TokenHit TokenHitFor(const IndexHit& hit, bool with_case_ref) {
  v1::TokenHit shown;
  *shown.mutable_contact() = hit.owner.contact();
  shown.set_caveat(hit.owner.caveat());
  shown.set_sharing(hit.owner.sharing());
  if (with_case_ref) shown.set_case_ref(hit.owner.case_ref());
  *shown.mutable_registered_at() = hit.posting.registered_at();
  if (hit.posting.has_observed()) {
    *shown.mutable_observed() = hit.posting.observed();
  }
  return shown;
}

absl::StatusOr<v1::TokenLookupResponse> TokenLookup::Answer(
    const v1::TokenLookupRequest& request, const FederationIdentity& caller) {
  const uint32_t limit = config_->limits().max_identifiers_per_request();
  if (static_cast<uint32_t>(request.queries_size()) > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "queries: ", request.queries_size(), " exceeds the limit of ", limit));
  }
  std::vector<LookupQuery> queries;
  queries.reserve(request.queries_size());
  for (int i = 0; i < request.queries_size(); ++i) {
    const v1::TokenQuery& query = request.queries(i);
    if (query.token().size() != kTokenBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("queries[", i, "].token: ", query.token().size(),
                       " bytes; expected ", kTokenBytes));
    }
    queries.push_back(LookupQuery{query.token(), query.observed()});
  }
  absl::StatusOr<std::vector<std::vector<IndexHit>>> hits =
      database_->cases().Lookup(queries);
  if (!hits.ok()) return hits.status();
  v1::TokenLookupResponse response;
  uint32_t hit_count = 0;
  for (const std::vector<IndexHit>& entry_hits : *hits) {
    hit_count += static_cast<uint32_t>(entry_hits.size());
    v1::TokenAnswer* answer = response.add_answers();
    for (const IndexHit& hit : entry_hits) {
      *answer->add_hits() = TokenHitFor(
          hit, hit.owner.sharing() == v1::SHARING_POINTER_WITH_CASE_REF);
    }
  }
  storage::v1::AuditRecord record;
  *record.mutable_at() = ToTimestamp(clock_());
  record.set_caller(caller.uri);
  record.set_operation("/deconfliction.v1.NodeFederation/LookupTokens");
  record.set_tokens(static_cast<uint32_t>(request.queries_size()));
  record.set_hits(hit_count);
  // No answer leaves the node unaudited.
  if (absl::Status s = database_->audit().Append(std::move(record)); !s.ok()) {
    return s;
  }
  return response;
}

}  // namespace deconfliction
