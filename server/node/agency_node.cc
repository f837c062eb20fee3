#include "server/node/agency_node.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/federation_checks.h"
#include "api/hits.h"
#include "api/timestamps.h"
#include "base/untrusted_text.h"
#include "rpc/deadlines.h"
#include "server/node/token_lookup.h"
#include "storage/keys.h"

namespace deconfliction {
namespace {

constexpr uint32_t kDefaultPageSize = 100;
constexpr uint32_t kMaxPageSize = 500;

// Free text is shown to other agencies' investigators: printable text only.
absl::Status CheckText(const std::string& value, absl::string_view field) {
  return CheckFreeText(value, field, kMaxTextFieldBytes);
}

// A request's default_region: empty (the node's own) or two ASCII letters.
absl::Status CheckRegion(const std::string& region) {
  if (region.empty() || (region.size() == 2 && absl::ascii_isalpha(region[0]) &&
                         absl::ascii_isalpha(region[1]))) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "default_region: \"", EchoForError(region),
      "\" is not two letters (an ISO 3166-1 alpha-2 code, e.g. CA)"));
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
  return CheckContact(contact, "contact");
}

}  // namespace

absl::StatusOr<std::vector<NewEntry>> AgencyNode::Prepare(
    const google::protobuf::RepeatedPtrField<v1::Identifier>& identifiers,
    const std::string& region) const {
  const uint32_t limit = config_->limits().max_identifiers_per_request();
  if (identifiers.empty()) {
    return absl::InvalidArgumentError("identifiers: at least one is required");
  }
  if (static_cast<uint32_t>(identifiers.size()) > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "identifiers: ", identifiers.size(), " exceeds the limit of ", limit,
        " per request (send large jobs through CheckBulk or in batches)"));
  }
  if (absl::Status s = CheckRegion(region); !s.ok()) return s;
  CanonicalizeOptions options{region.empty() ? config_->default_region()
                                             : region};
  std::vector<NewEntry> prepared;
  prepared.reserve(identifiers.size());
  for (int i = 0; i < identifiers.size(); ++i) {
    absl::StatusOr<CanonicalIdentifier> canonical =
        Canonicalize(identifiers[i], options);
    if (!canonical.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("identifiers[", i, "]: ", canonical.status().message()));
    }
    NewEntry entry;
    entry.identifier = identifiers[i];
    entry.canonical = *std::move(canonical);
    prepared.push_back(std::move(entry));
  }
  return prepared;
}

void AgencyNode::Tokenize(std::vector<NewEntry> entries, absl::Time deadline,
                          Tokenized next) {
  std::vector<CanonicalIdentifier> identifiers;
  identifiers.reserve(entries.size());
  for (const NewEntry& entry : entries) identifiers.push_back(entry.canonical);
  tokens_->Tokenize(
      identifiers,
      HopDeadline(deadline, clock_(),
                  absl::Milliseconds(config_->token_key().timeout_ms())),
      [entries = std::move(entries),
       next = std::move(next)](TokenBatch batch) mutable {
        for (size_t i = 0; i < entries.size(); ++i) {
          entries[i].token = std::move(batch.tokens[i]);
        }
        next(std::move(entries), batch.unanswered);
      });
}

absl::StatusOr<std::vector<v1::CheckResult>> AgencyNode::LocalResults(
    const std::vector<NewEntry>& entries, uint64_t first_index,
    const std::string& exclude_case_ref,
    const std::vector<v1::NodeOutcome>& unanswered) const {
  std::vector<LookupQuery> queries;
  queries.reserve(entries.size());
  for (const NewEntry& entry : entries) {
    // An entry without a token looks up nothing (the empty key is never in
    // the index).
    queries.push_back(LookupQuery{entry.token, entry.identifier.observed()});
  }
  absl::StatusOr<std::vector<std::vector<storage::v1::Posting>>> hits =
      database_->cases().Lookup(queries);
  if (!hits.ok()) return hits.status();
  std::vector<v1::CheckResult> results(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    v1::CheckResult& result = results[i];
    result.set_index(first_index + i);
    result.set_canonical(entries[i].canonical.form);
    result.set_complete(!entries[i].token.empty());
    if (entries[i].token.empty()) {
      for (const v1::NodeOutcome& custodian : unanswered) {
        *result.add_unanswered() = custodian;
      }
    }
    for (storage::v1::Posting& index_hit : (*hits)[i]) {
      if (index_hit.case_ref() == exclude_case_ref) continue;
      // The agency's own users see their own case references.
      v1::TokenHit shown;
      ShowPosting(&index_hit, /*with_case_ref=*/true, &shown);
      *result.add_hits() = HitFromTokenHit(shown, config_->agency_id());
    }
  }
  return results;
}

void AgencyNode::Check(const v1::CheckRequest& request, uint64_t first_index,
                       const FederationIdentity& caller, absl::Time deadline,
                       Turn in_turn, Done<v1::CheckResponse> done) {
  absl::StatusOr<std::vector<NewEntry>> entries =
      Prepare(request.identifiers(), request.default_region());
  if (!entries.ok()) return done(entries.status());
  Tokenize(
      *std::move(entries), deadline,
      [this, first_index, caller, deadline, in_turn = std::move(in_turn),
       done = std::move(done)](
          std::vector<NewEntry> entries,
          const std::vector<v1::NodeOutcome>& unanswered) mutable {
        auto rest = [this, first_index, caller, deadline,
                     entries = std::move(entries), unanswered,
                     done = std::move(done)](bool go) mutable {
          if (!go) {
            return done(absl::CancelledError(
                "an earlier chunk of the bulk job failed"));
          }
          absl::StatusOr<std::vector<v1::CheckResult>> local =
              LocalResults(entries, first_index, "", unanswered);
          if (!local.ok()) return done(local.status());
          v1::Contact requester;
          requester.set_name(caller.uri);
          federated_->Run(
              entries, *std::move(local), v1::LOOKUP_PURPOSE_CHECK, requester,
              v1::SHARING_UNSPECIFIED, caller,
              "/deconfliction.v1.Deconfliction/Check",
              /*queued_key=*/"", deadline,
              [done = std::move(done)](const absl::Status& refusal,
                                       std::vector<v1::CheckResult> results,
                                       v1::CheckScope scope) {
                // Over its query cap, the agency gets the hub's refusal.
                if (!refusal.ok()) return done(refusal);
                v1::CheckResponse response;
                response.set_scope(scope);
                for (v1::CheckResult& result : results) {
                  *response.add_results() = std::move(result);
                }
                done(std::move(response));
              });
        };
        if (in_turn == nullptr) return rest(true);
        in_turn(std::move(rest));
      });
}

void AgencyNode::Register(const v1::RegisterRequest& request,
                          const FederationIdentity& caller, absl::Time deadline,
                          Done<v1::RegisterResponse> done) {
  if (absl::Status s = keys::ValidateCaseRef(request.case_ref()); !s.ok()) {
    return done(s);
  }
  if (absl::Status s = ValidateContact(request.contact()); !s.ok()) {
    return done(s);
  }
  if (absl::Status s = CheckText(request.caveat(), "caveat"); !s.ok()) {
    return done(s);
  }
  if (!v1::Sharing_IsValid(request.sharing())) {
    return done(absl::InvalidArgumentError("sharing: unknown value"));
  }
  const absl::Time now = clock_();
  absl::Time expires_at =
      now + absl::Hours(24) * config_->default_retention_days();
  if (request.has_expires_at()) {
    expires_at = FromTimestamp(request.expires_at());
    if (expires_at <= now) {
      return done(absl::InvalidArgumentError("expires_at: not in the future"));
    }
  }
  absl::StatusOr<std::vector<NewEntry>> entries =
      Prepare(request.identifiers(), request.default_region());
  if (!entries.ok()) return done(entries.status());

  CaseUpdate update;
  update.case_ref = request.case_ref();
  update.contact = request.contact();
  update.caveat = request.caveat();
  update.sharing = request.sharing();
  update.expires_at = expires_at;
  update.created_by = caller.uri;
  Tokenize(
      *std::move(entries), deadline,
      [this, update = std::move(update), caller, deadline,
       done = std::move(done)](
          const std::vector<NewEntry>& entries,
          const std::vector<v1::NodeOutcome>& unanswered) mutable {
        // The registration is stored first, with its federated lookup
        // queued: it stands, and reaches the hub, whatever happens next.
        // Entries the custodians could not tokenize are stored
        // awaiting their tokens (TokenRetry).
        absl::StatusOr<Registration> stored = database_->cases().Register(
            update, entries,
            federated_->federated() ? &database_->federation_queue() : nullptr);
        if (!stored.ok()) return done(stored.status());
        absl::StatusOr<std::vector<v1::CheckResult>> local =
            LocalResults(entries, 0, update.case_ref, unanswered);
        if (!local.ok()) return done(local.status());
        federated_->Run(entries, *std::move(local), v1::LOOKUP_PURPOSE_REGISTER,
                        stored->contact, stored->sharing, caller,
                        "/deconfliction.v1.Registry/Register",
                        stored->federation_key, deadline,
                        [done = std::move(done), case_ref = update.case_ref,
                         stored = *stored](const absl::Status& /*refusal*/,
                                           std::vector<v1::CheckResult> results,
                                           v1::CheckScope scope) {
                          // The registration stands; a refused federated check
                          // shows as an incomplete answer naming the hub.
                          v1::RegisterResponse response;
                          response.set_case_ref(case_ref);
                          response.set_added(stored.added);
                          response.set_awaiting_tokens(stored.awaiting_tokens);
                          response.set_scope(scope);
                          for (v1::CheckResult& result : results) {
                            *response.add_matches() = std::move(result);
                          }
                          done(std::move(response));
                        });
      });
}

absl::StatusOr<v1::CloseCaseResponse> AgencyNode::CloseCase(
    const v1::CloseCaseRequest& request) {
  if (absl::Status s = CheckText(request.reason(), "reason"); !s.ok()) {
    return s;
  }
  absl::StatusOr<absl::Time> closed_at =
      database_->cases().CloseCase(request.case_ref(), request.reason());
  if (!closed_at.ok()) return closed_at.status();
  v1::CloseCaseResponse response;
  *response.mutable_closed_at() = ToTimestamp(*closed_at);
  return response;
}

absl::StatusOr<v1::Case> AgencyNode::GetCase(
    const v1::GetCaseRequest& request) const {
  return database_->cases().GetCase(request.case_ref(), /*with_entries=*/true);
}

absl::StatusOr<v1::ListCasesResponse> AgencyNode::ListCases(
    const v1::ListCasesRequest& request) const {
  uint32_t page_size =
      request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  if (page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: at most ", kMaxPageSize));
  }
  absl::StatusOr<CasePage> page = database_->cases().ListCases(
      request.page_token(), page_size, request.include_closed());
  if (!page.ok()) return page.status();
  v1::ListCasesResponse response;
  for (v1::Case& c : page->cases) *response.add_cases() = std::move(c);
  response.set_next_page_token(page->next_page_token);
  return response;
}

}  // namespace deconfliction
