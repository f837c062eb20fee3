#include "server/node/token_lookup.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "identifiers/token.h"

namespace deconfliction {

v1::TokenHit TokenHitFor(storage::v1::Posting hit, bool with_case_ref) {
  v1::TokenHit shown;
  shown.mutable_contact()->Swap(hit.mutable_contact());
  shown.mutable_caveat()->swap(*hit.mutable_caveat());
  shown.set_sharing(hit.sharing());
  if (with_case_ref) shown.mutable_case_ref()->swap(*hit.mutable_case_ref());
  shown.mutable_registered_at()->Swap(hit.mutable_registered_at());
  if (hit.has_observed()) {
    shown.mutable_observed()->Swap(hit.mutable_observed());
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
  absl::StatusOr<std::vector<std::vector<storage::v1::Posting>>> hits =
      database_->cases().Lookup(queries);
  if (!hits.ok()) return hits.status();
  v1::TokenLookupResponse response;
  response.mutable_answers()->Reserve(static_cast<int>(hits->size()));
  uint32_t hit_count = 0;
  for (std::vector<storage::v1::Posting>& entry_hits : *hits) {
    hit_count += static_cast<uint32_t>(entry_hits.size());
    v1::TokenAnswer* answer = response.add_answers();
    for (storage::v1::Posting& hit : entry_hits) {
      const bool with_case_ref =
          hit.sharing() == v1::SHARING_POINTER_WITH_CASE_REF;
      *answer->add_hits() = TokenHitFor(std::move(hit), with_case_ref);
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
