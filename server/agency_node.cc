#include "server/agency_node.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "storage/keys.h"

namespace deconfliction {
namespace {

constexpr uint32_t kDefaultPageSize = 100;
constexpr uint32_t kMaxPageSize = 500;
constexpr size_t kMaxTextField = 512;

absl::Status CheckText(const std::string& value, absl::string_view field) {
  if (value.size() > kMaxTextField) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": longer than ", kMaxTextField, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ValidateContact(const v1::Contact& contact) {
  if (contact.name().empty()) {
    return absl::InvalidArgumentError(
        "contact.name: required (whom other agencies should call)");
  }
  if (contact.phone().empty() && contact.email().empty()) {
    return absl::InvalidArgumentError(
        "contact: a phone or an email is required");
  }
  for (auto [value, field] : {std::pair(&contact.name(), "contact.name"),
                              std::pair(&contact.phone(), "contact.phone"),
                              std::pair(&contact.email(), "contact.email"),
                              std::pair(&contact.unit(), "contact.unit")}) {
    if (absl::Status s = CheckText(*value, field); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

AgencyNode::AgencyNode(config::v1::NodeConfig config,
                       std::unique_ptr<TokenFunction> tokens,
                       std::unique_ptr<NodeStore> store, Clock clock)
    : config_(std::move(config)),
      tokens_(std::move(tokens)),
      store_(std::move(store)),
      clock_(std::move(clock)) {}

absl::StatusOr<AgencyNode::Prepared> AgencyNode::Prepare(
    const google::protobuf::RepeatedPtrField<v1::Identifier>& identifiers,
    const std::string& region) const {
  const uint32_t limit = config_.limits().max_identifiers_per_request();
  if (identifiers.empty()) {
    return absl::InvalidArgumentError("identifiers: at least one is required");
  }
  if (static_cast<uint32_t>(identifiers.size()) > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "identifiers: ", identifiers.size(), " exceeds the limit of ", limit,
        " per request (send large jobs through CheckBulk or in batches)"));
  }
  CanonicalizeOptions options{region.empty() ? config_.default_region()
                                             : region};
  Prepared prepared;
  prepared.entries.reserve(identifiers.size());
  for (int i = 0; i < identifiers.size(); ++i) {
    absl::StatusOr<CanonicalIdentifier> canonical =
        Canonicalize(identifiers[i], options);
    if (!canonical.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("identifiers[", i, "]: ", canonical.status().message()));
    }
    NewEntry entry;
    entry.identifier = identifiers[i];
    entry.token = tokens_->Tokenize(*canonical);
    entry.canonical = *std::move(canonical);
    prepared.entries.push_back(std::move(entry));
  }
  return prepared;
}

absl::StatusOr<std::vector<v1::CheckResult>> AgencyNode::LocalResults(
    const std::vector<NewEntry>& entries, uint64_t first_index,
    const std::string& exclude_case_ref) const {
  std::vector<LookupQuery> queries;
  queries.reserve(entries.size());
  for (const NewEntry& entry : entries) {
    queries.push_back(LookupQuery{entry.token, entry.identifier.observed()});
  }
  absl::StatusOr<std::vector<std::vector<IndexHit>>> hits =
      store_->Lookup(queries);
  if (!hits.ok()) return hits.status();
  std::vector<v1::CheckResult> results(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    v1::CheckResult& result = results[i];
    result.set_index(first_index + i);
    result.set_canonical(entries[i].canonical.form);
    result.set_complete(true);
    for (const IndexHit& index_hit : (*hits)[i]) {
      if (index_hit.owner.case_ref() == exclude_case_ref) continue;
      v1::Hit* hit = result.add_hits();
      hit->set_agency_id(config_.agency_id());
      *hit->mutable_contact() = index_hit.owner.contact();
      hit->set_caveat(index_hit.owner.caveat());
      // The agency's own users see their own case references.
      hit->set_case_ref(index_hit.owner.case_ref());
      *hit->mutable_registered_at() = index_hit.posting.registered_at();
      if (index_hit.posting.has_observed()) {
        *hit->mutable_observed() = index_hit.posting.observed();
      }
    }
  }
  return results;
}

absl::StatusOr<v1::CheckResponse> AgencyNode::Check(
    const v1::CheckRequest& request, uint64_t first_index) const {
  absl::StatusOr<Prepared> prepared =
      Prepare(request.identifiers(), request.default_region());
  if (!prepared.ok()) return prepared.status();
  absl::StatusOr<std::vector<v1::CheckResult>> results =
      LocalResults(prepared->entries, first_index, "");
  if (!results.ok()) return results.status();
  v1::CheckResponse response;
  response.set_scope(v1::CHECK_SCOPE_LOCAL);
  for (v1::CheckResult& result : *results) {
    *response.add_results() = std::move(result);
  }
  return response;
}

absl::StatusOr<v1::RegisterResponse> AgencyNode::Register(
    const v1::RegisterRequest& request, const FederationIdentity& caller) {
  if (absl::Status s = keys::ValidateCaseRef(request.case_ref()); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateContact(request.contact()); !s.ok()) return s;
  if (absl::Status s = CheckText(request.caveat(), "caveat"); !s.ok()) {
    return s;
  }
  if (!v1::Sharing_IsValid(request.sharing())) {
    return absl::InvalidArgumentError("sharing: unknown value");
  }
  const absl::Time now = clock_();
  absl::Time expires_at =
      now + absl::Hours(24) * config_.default_retention_days();
  if (request.has_expires_at()) {
    expires_at = FromTimestamp(request.expires_at());
    if (expires_at <= now) {
      return absl::InvalidArgumentError("expires_at: not in the future");
    }
  }
  absl::StatusOr<Prepared> prepared =
      Prepare(request.identifiers(), request.default_region());
  if (!prepared.ok()) return prepared.status();
  // Matches are what was there before this registration.
  absl::StatusOr<std::vector<v1::CheckResult>> matches =
      LocalResults(prepared->entries, 0, request.case_ref());
  if (!matches.ok()) return matches.status();

  CaseUpdate update;
  update.case_ref = request.case_ref();
  update.contact = request.contact();
  update.caveat = request.caveat();
  update.sharing = request.sharing();
  update.expires_at = expires_at;
  update.created_by = caller.uri;
  absl::StatusOr<uint32_t> added = store_->Register(update, prepared->entries);
  if (!added.ok()) return added.status();

  v1::RegisterResponse response;
  response.set_case_ref(request.case_ref());
  response.set_added(*added);
  response.set_scope(v1::CHECK_SCOPE_LOCAL);
  for (v1::CheckResult& result : *matches) {
    *response.add_matches() = std::move(result);
  }
  return response;
}

absl::StatusOr<v1::CloseCaseResponse> AgencyNode::CloseCase(
    const v1::CloseCaseRequest& request) {
  if (absl::Status s = CheckText(request.reason(), "reason"); !s.ok()) {
    return s;
  }
  absl::StatusOr<absl::Time> closed_at =
      store_->CloseCase(request.case_ref(), request.reason());
  if (!closed_at.ok()) return closed_at.status();
  v1::CloseCaseResponse response;
  *response.mutable_closed_at() = ToTimestamp(*closed_at);
  return response;
}

absl::StatusOr<v1::Case> AgencyNode::GetCase(
    const v1::GetCaseRequest& request) const {
  return store_->GetCase(request.case_ref(), /*with_entries=*/true);
}

absl::StatusOr<v1::ListCasesResponse> AgencyNode::ListCases(
    const v1::ListCasesRequest& request) const {
  uint32_t page_size =
      request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  if (page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: at most ", kMaxPageSize));
  }
  absl::StatusOr<CasePage> page = store_->ListCases(
      request.page_token(), page_size, request.include_closed());
  if (!page.ok()) return page.status();
  v1::ListCasesResponse response;
  for (v1::Case& c : page->cases) *response.add_cases() = std::move(c);
  response.set_next_page_token(page->next_page_token);
  return response;
}

absl::StatusOr<v1::TokenLookupResponse> AgencyNode::LookupTokens(
    const v1::TokenLookupRequest& request) const {
  const uint32_t limit = config_.limits().max_identifiers_per_request();
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
      store_->Lookup(queries);
  if (!hits.ok()) return hits.status();
  v1::TokenLookupResponse response;
  for (const std::vector<IndexHit>& entry_hits : *hits) {
    v1::TokenAnswer* answer = response.add_answers();
    for (const IndexHit& index_hit : entry_hits) {
      v1::TokenHit* hit = answer->add_hits();
      *hit->mutable_contact() = index_hit.owner.contact();
      hit->set_caveat(index_hit.owner.caveat());
      hit->set_sharing(index_hit.owner.sharing());
      if (index_hit.owner.sharing() == v1::SHARING_POINTER_WITH_CASE_REF) {
        hit->set_case_ref(index_hit.owner.case_ref());
      }
      *hit->mutable_registered_at() = index_hit.posting.registered_at();
      if (index_hit.posting.has_observed()) {
        *hit->mutable_observed() = index_hit.posting.observed();
      }
    }
  }
  return response;
}

}  // namespace deconfliction
