#include "server/agency_node.h"

#include <cstdio>
#include <future>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "server/channels.h"
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
                       std::unique_ptr<NodeStore> store, Clock clock,
                       std::unique_ptr<Federation> federation)
    : config_(std::move(config)),
      tokens_(std::move(tokens)),
      store_(std::move(store)),
      clock_(std::move(clock)),
      federation_(std::move(federation)) {
  if (federation_ != nullptr)
    retry_ = std::thread([this] { RetryQueuedLookups(); });
}

AgencyNode::~AgencyNode() {
  {
    absl::MutexLock lock(&retry_mu_);
    stopping_ = true;
  }
  if (retry_.joinable()) retry_.join();
}

void AgencyNode::RetryQueuedLookups() {
  while (true) {
    {
      absl::MutexLock lock(&retry_mu_);
      retry_mu_.AwaitWithTimeout(
          absl::Condition(
              +[](bool* stopping) { return *stopping; }, &stopping_),
          kFederationRetryInterval);
      if (stopping_) return;
    }
    auto pending = store_->PendingFederation(10);
    if (!pending.ok()) continue;
    for (auto& [key, lookup] : *pending) {
      std::promise<bool> taken;
      federation_->Lookup(
          lookup.request(),
          clock_() + absl::Milliseconds(config_.hub().timeout_ms()),
          [&taken](absl::StatusOr<v1::FederatedLookupResponse> answer) {
            taken.set_value(answer.ok());
          });
      // The hub still does not answer: try again next interval.
      if (!taken.get_future().get()) break;
      store_->RemovePendingFederation(key).IgnoreError();
    }
  }
}

absl::StatusOr<std::vector<NewEntry>> AgencyNode::Prepare(
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
    entry.token = tokens_->Tokenize(*canonical);
    entry.canonical = *std::move(canonical);
    prepared.push_back(std::move(entry));
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

void AgencyNode::Federate(const std::vector<NewEntry>& entries,
                          std::vector<v1::CheckResult> results,
                          v1::LookupPurpose purpose,
                          const v1::Contact& requester,
                          const FederationIdentity& caller,
                          const std::string& operation, absl::Time deadline,
                          ResultsDone done) {
  if (federation_ == nullptr) {
    done(absl::OkStatus(), std::move(results), v1::CHECK_SCOPE_LOCAL);
    return;
  }
  v1::FederatedLookupRequest request;
  request.set_purpose(purpose);
  *request.mutable_requester_contact() = requester;
  for (const NewEntry& entry : entries) {
    v1::TokenQuery* query = request.add_queries();
    query->set_token(entry.token);
    if (IsTimeBound(entry.canonical.type)) {
      *query->mutable_observed() = entry.identifier.observed();
    }
  }
  const absl::Time now = clock_();
  storage::v1::AuditRecord record;
  *record.mutable_at() = ToTimestamp(now);
  record.set_caller(caller.uri);
  record.set_operation(operation);
  record.set_purpose(purpose);
  record.set_tokens(static_cast<uint32_t>(entries.size()));
  federation_->Lookup(
      request,
      HopDeadline(deadline, now,
                  absl::Milliseconds(config_.hub().timeout_ms())),
      [this, results = std::move(results), record = std::move(record), request,
       done = std::move(done)](
          absl::StatusOr<v1::FederatedLookupResponse> answer) mutable {
        uint32_t hits = 0;
        for (size_t i = 0; i < results.size(); ++i) {
          v1::CheckResult& result = results[i];
          if (!answer.ok() ||
              answer->answers_size() != static_cast<int>(results.size())) {
            absl::Status why =
                answer.ok()
                    ? absl::InternalError("hub answer has the wrong size")
                    : answer.status();
            result.set_complete(false);
            v1::NodeOutcome* hub = result.add_unanswered();
            hub->set_agency_id("hub");
            hub->set_code(static_cast<int32_t>(why.code()));
            hub->set_message(std::string(why.message()));
            continue;
          }
          const v1::FederatedAnswer& federated = answer->answers(i);
          if (federated.common()) {
            result.clear_hits();
            result.set_common(true);
          } else {
            for (const v1::Hit& hit : federated.hits()) {
              *result.add_hits() = hit;
              ++hits;
            }
          }
          *result.mutable_unanswered() = answer->unanswered();
          result.set_complete(answer->unanswered().empty());
        }
        record.set_hits(hits);
        if (answer.ok()) {
          *record.mutable_answered() = answer->answered();
          *record.mutable_unanswered() = answer->unanswered();
        } else {
          v1::NodeOutcome* hub = record.add_unanswered();
          hub->set_agency_id("hub");
          hub->set_code(static_cast<int32_t>(answer.status().code()));
          hub->set_message(std::string(answer.status().message()));
        }
        // A registration must reach the federation some time: when the hub
        // did not take it, it is queued and sent again.
        if (!answer.ok() && !absl::IsResourceExhausted(answer.status()) &&
            request.purpose() == v1::LOOKUP_PURPOSE_REGISTER) {
          storage::v1::PendingLookup pending;
          *pending.mutable_request() = request;
          *pending.mutable_queued_at() = ToTimestamp(clock_());
          if (absl::Status s = store_->QueueFederation(pending); !s.ok()) {
            std::fprintf(stderr,
                         "deconflict-node: cannot queue a registration's "
                         "federated check: %s\n",
                         std::string(s.message()).c_str());
          }
        }
        absl::Status audited = store_->AppendAudit(std::move(record));
        if (!audited.ok()) {
          // The answer stands; the lost audit record is reported loudly.
          std::fprintf(stderr, "deconflict-node: audit write failed: %s\n",
                       std::string(audited.message()).c_str());
        }
        done(absl::IsResourceExhausted(answer.status()) ? answer.status()
                                                        : absl::OkStatus(),
             std::move(results), v1::CHECK_SCOPE_FEDERATION);
      });
}

void AgencyNode::Check(const v1::CheckRequest& request, uint64_t first_index,
                       const FederationIdentity& caller, absl::Time deadline,
                       Done<v1::CheckResponse> done) {
  absl::StatusOr<std::vector<NewEntry>> entries =
      Prepare(request.identifiers(), request.default_region());
  if (!entries.ok()) return done(entries.status());
  absl::StatusOr<std::vector<v1::CheckResult>> local =
      LocalResults(*entries, first_index, "");
  if (!local.ok()) return done(local.status());
  v1::Contact requester;
  requester.set_name(caller.uri);
  Federate(*entries, *std::move(local), v1::LOOKUP_PURPOSE_CHECK, requester,
           caller, "/deconfliction.v1.Deconfliction/Check", deadline,
           [done = std::move(done)](absl::Status refusal,
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
      now + absl::Hours(24) * config_.default_retention_days();
  if (request.has_expires_at()) {
    expires_at = FromTimestamp(request.expires_at());
    if (expires_at <= now) {
      return done(absl::InvalidArgumentError("expires_at: not in the future"));
    }
  }
  absl::StatusOr<std::vector<NewEntry>> entries =
      Prepare(request.identifiers(), request.default_region());
  if (!entries.ok()) return done(entries.status());

  // The registration is stored first: it stands whatever the federation
  // answers.
  CaseUpdate update;
  update.case_ref = request.case_ref();
  update.contact = request.contact();
  update.caveat = request.caveat();
  update.sharing = request.sharing();
  update.expires_at = expires_at;
  update.created_by = caller.uri;
  absl::StatusOr<uint32_t> added = store_->Register(update, *entries);
  if (!added.ok()) return done(added.status());
  absl::StatusOr<std::vector<v1::CheckResult>> local =
      LocalResults(*entries, 0, request.case_ref());
  if (!local.ok()) return done(local.status());
  Federate(
      *entries, *std::move(local), v1::LOOKUP_PURPOSE_REGISTER,
      request.contact(), caller, "/deconfliction.v1.Registry/Register",
      deadline,
      [done = std::move(done), case_ref = request.case_ref(), added = *added](
          absl::Status /*refusal*/, std::vector<v1::CheckResult> results,
          v1::CheckScope scope) {
        // The registration stands; a refused federated check shows as
        // an incomplete answer naming the hub.
        v1::RegisterResponse response;
        response.set_case_ref(case_ref);
        response.set_added(added);
        response.set_scope(scope);
        for (v1::CheckResult& result : results) {
          *response.add_matches() = std::move(result);
        }
        done(std::move(response));
      });
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
    const v1::TokenLookupRequest& request, const FederationIdentity& caller) {
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
  uint32_t hit_count = 0;
  for (const std::vector<IndexHit>& entry_hits : *hits) {
    hit_count += static_cast<uint32_t>(entry_hits.size());
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
  storage::v1::AuditRecord record;
  *record.mutable_at() = ToTimestamp(clock_());
  record.set_caller(caller.uri);
  record.set_operation("/deconfliction.v1.NodeFederation/LookupTokens");
  record.set_tokens(static_cast<uint32_t>(request.queries_size()));
  record.set_hits(hit_count);
  // No answer leaves the node unaudited.
  if (absl::Status s = store_->AppendAudit(std::move(record)); !s.ok()) {
    return s;
  }
  return response;
}

absl::StatusOr<v1::DeliverAlertsResponse> AgencyNode::DeliverAlerts(
    const v1::DeliverAlertsRequest& request) {
  if (static_cast<uint32_t>(request.alerts_size()) >
      config_.limits().max_identifiers_per_request()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "alerts: ", request.alerts_size(), " exceeds the limit of ",
        config_.limits().max_identifiers_per_request()));
  }
  std::vector<v1::Alert> alerts;
  for (int i = 0; i < request.alerts_size(); ++i) {
    const v1::AlertDelivery& delivery = request.alerts(i);
    if (delivery.alert_id().empty() || delivery.alert_id().size() > 128) {
      return absl::InvalidArgumentError(
          absl::StrCat("alerts[", i, "].alert_id: empty or too long"));
    }
    v1::Alert alert;
    alert.set_alert_id(delivery.alert_id());
    *alert.mutable_raised_at() = delivery.raised_at();
    alert.set_kind(delivery.kind());
    alert.set_other_agency_id(delivery.other_agency_id());
    *alert.mutable_other_contact() = delivery.other_contact();
    alert.set_other_caveat(delivery.other_caveat());
    alert.set_other_case_ref(delivery.other_case_ref());
    alert.set_silent_owner_agency_id(delivery.silent_owner_agency_id());
    *alert.mutable_silent_owner_contact() = delivery.silent_owner_contact();
    if (delivery.has_observed())
      *alert.mutable_observed() = delivery.observed();
    // This agency's side, from its own records only.
    absl::StatusOr<std::vector<OwnEntryRecord>> own =
        store_->EntriesForToken(delivery.token());
    if (!own.ok()) return own.status();
    for (const OwnEntryRecord& entry : *own) {
      v1::OwnEntry* shown = alert.add_own_entries();
      shown->set_case_ref(entry.case_ref);
      shown->set_canonical(entry.entry.canonical());
      alert.set_identifier_type(entry.entry.identifier().type());
    }
    alerts.push_back(std::move(alert));
  }
  absl::StatusOr<StoredAlerts> stored = store_->StoreAlerts(std::move(alerts));
  if (!stored.ok()) return stored.status();
  if (stored->stored > 0) alert_feed_.Publish();
  v1::DeliverAlertsResponse response;
  response.set_stored(stored->stored);
  response.set_duplicates(stored->duplicates);
  return response;
}

absl::StatusOr<std::vector<v1::Alert>> AgencyNode::AlertsAfter(
    uint64_t cursor, size_t limit) const {
  return store_->AlertsAfter(cursor, limit);
}

absl::StatusOr<v1::AcknowledgeResponse> AgencyNode::Acknowledge(
    const v1::AcknowledgeRequest& request) {
  if (request.alert_ids().empty()) {
    return absl::InvalidArgumentError("alert_ids: at least one is required");
  }
  if (static_cast<uint32_t>(request.alert_ids_size()) >
      config_.limits().max_identifiers_per_request()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "alert_ids: ", request.alert_ids_size(), " exceeds the limit of ",
        config_.limits().max_identifiers_per_request()));
  }
  absl::StatusOr<AcknowledgedAlerts> outcome = store_->AcknowledgeAlerts(
      {request.alert_ids().begin(), request.alert_ids().end()});
  if (!outcome.ok()) return outcome.status();
  v1::AcknowledgeResponse response;
  response.set_acknowledged(outcome->acknowledged);
  for (const std::string& id : outcome->unknown_ids) {
    response.add_unknown_ids(id);
  }
  return response;
}

void AgencyNode::AlertStatus(absl::Time deadline,
                             Done<v1::AlertStatusResponse> done) {
  v1::AlertStatusResponse response;
  AlertInbox inbox = store_->AlertInboxState();
  response.set_last_cursor(inbox.last_cursor);
  response.set_unacknowledged(inbox.unacknowledged);
  if (federation_ == nullptr) return done(std::move(response));
  federation_->DeliveryStatus(
      HopDeadline(deadline, clock_(),
                  absl::Milliseconds(config_.hub().timeout_ms())),
      [response, done = std::move(done)](
          absl::StatusOr<v1::DeliveryStatusResponse> hub) mutable {
        if (hub.ok()) {
          response.set_hub_answered(true);
          response.set_pending_at_hub(hub->pending());
          response.set_oldest_pending_seconds(hub->oldest_pending_seconds());
        }
        done(std::move(response));
      });
}

}  // namespace deconfliction
