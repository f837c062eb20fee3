#include "server/node/token_lookup.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "identifiers/token.h"

namespace deconfliction {

void ShowPosting(storage::v1::Posting* posting, bool with_case_ref,
                 v1::TokenHit* shown) {
  // Moves: a swap within one arena (or the heap), else one copy.
  *shown->mutable_contact() = std::move(*posting->mutable_contact());
  shown->set_caveat(std::move(*posting->mutable_caveat()));
  shown->set_sharing(posting->sharing());
  if (with_case_ref) {
    shown->set_case_ref(std::move(*posting->mutable_case_ref()));
  }
  *shown->mutable_registered_at() =
      std::move(*posting->mutable_registered_at());
  if (posting->has_observed()) {
    *shown->mutable_observed() = std::move(*posting->mutable_observed());
  }
}

absl::Status TokenLookup::Answer(const v1::TokenLookupRequest& request,
                                 const FederationIdentity& caller,
                                 v1::TokenLookupResponse* response) {
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
  response->mutable_answers()->Reserve(static_cast<int>(hits->size()));
  uint32_t hit_count = 0;
  for (std::vector<storage::v1::Posting>& entry_hits : *hits) {
    hit_count += static_cast<uint32_t>(entry_hits.size());
    v1::TokenAnswer* answer = response->add_answers();
    for (storage::v1::Posting& hit : entry_hits) {
      ShowPosting(&hit, hit.sharing() == v1::SHARING_POINTER_WITH_CASE_REF,
                  answer->add_hits());
    }
  }
  storage::v1::AuditRecord record;
  *record.mutable_at() = ToTimestamp(clock_());
  record.set_caller(caller.uri);
  record.set_operation("/deconfliction.v1.NodeFederation/LookupTokens");
  record.set_tokens(static_cast<uint32_t>(request.queries_size()));
  record.set_hits(hit_count);
  // No answer leaves the node unaudited.
  return database_->audit().Append(std::move(record));
}

}  // namespace deconfliction
