#include "server/node/federated_check.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/hits.h"
#include "api/timestamps.h"
#include "base/log.h"
#include "rpc/deadlines.h"

namespace deconfliction {
namespace {

// The hub's answer for the request as a whole: OK when it answered every
// query, else why not.
absl::Status Usable(const absl::StatusOr<v1::FederatedLookupResponse>& answer,
                    size_t queries) {
  if (!answer.ok()) return answer.status();
  if (answer->answers_size() != static_cast<int>(queries)) {
    return absl::InternalError("hub answer has the wrong size");
  }
  return absl::OkStatus();
}

}  // namespace

void FederatedCheck::Run(const std::vector<NewEntry>& entries,
                         std::vector<v1::CheckResult> results,
                         v1::LookupPurpose purpose,
                         const v1::Contact& requester, v1::Sharing sharing,
                         const FederationIdentity& caller,
                         const std::string& operation,
                         const std::string& queued_key, absl::Time deadline,
                         Done done) {
  const absl::Time now = clock_();
  storage::v1::AuditRecord record;
  *record.mutable_at() = ToTimestamp(now);
  record.set_caller(caller.uri);
  record.set_operation(operation);
  record.set_purpose(purpose);
  for (const NewEntry& entry : entries) {
    storage::v1::AuditedIdentifier* audited = record.add_identifiers();
    audited->set_type(entry.canonical.type);
    audited->set_canonical(entry.canonical.form);
  }
  if (federation_ == nullptr) {
    return AuditAndFinish(std::move(record), absl::OkStatus(),
                          std::move(results), v1::CHECK_SCOPE_LOCAL, done);
  }
  // Only entries with tokens reach the hub; the others already name the
  // custodians that could not tokenize them.
  std::vector<size_t> sent;
  sent.reserve(entries.size());
  v1::FederatedLookupRequest request;
  request.set_purpose(purpose);
  *request.mutable_requester_contact() = requester;
  request.set_requester_sharing(sharing);
  for (size_t i = 0; i < entries.size(); ++i) {
    const NewEntry& entry = entries[i];
    if (entry.token.empty()) continue;
    sent.push_back(i);
    v1::TokenQuery* query = request.add_queries();
    query->set_token(entry.token);
    if (IsTimeBound(entry.canonical.type)) {
      *query->mutable_observed() = entry.identifier.observed();
    }
  }
  if (sent.empty()) {
    return AuditAndFinish(std::move(record), absl::OkStatus(),
                          std::move(results), v1::CHECK_SCOPE_FEDERATION, done);
  }
  record.set_tokens(static_cast<uint32_t>(sent.size()));
  federation_->Lookup(
      request,
      HopDeadline(deadline, now,
                  absl::Milliseconds(config_->hub().timeout_ms())),
      [this, results = std::move(results), record = std::move(record),
       queued_key, sent = std::move(sent), done = std::move(done)](
          absl::StatusOr<v1::FederatedLookupResponse> answer) mutable {
        const absl::Status usable = Usable(answer, sent.size());
        if (!usable.ok()) {
          const v1::NodeOutcome hub = Unanswered("hub", usable);
          for (size_t position : sent) {
            v1::CheckResult& result = results[position];
            result.set_complete(false);
            *result.add_unanswered() = hub;
          }
          *record.add_unanswered() = hub;
        } else {
          for (size_t i = 0; i < sent.size(); ++i) {
            v1::CheckResult& result = results[sent[i]];
            const v1::FederatedAnswer& federated =
                answer->answers(static_cast<int>(i));
            if (federated.common()) {
              result.clear_hits();
              result.set_common(true);
            } else {
              for (const v1::Hit& hit : federated.hits()) {
                *result.add_hits() = hit;
              }
            }
            *result.mutable_unanswered() = answer->unanswered();
            result.set_complete(answer->unanswered().empty());
          }
          *record.mutable_answered() = answer->answered();
          *record.mutable_unanswered() = answer->unanswered();
        }
        const absl::Status refusal =
            absl::IsResourceExhausted(usable) ? usable : absl::OkStatus();
        if (queued_key.empty()) {
          return AuditAndFinish(std::move(record), refusal, std::move(results),
                                v1::CHECK_SCOPE_FEDERATION, done);
        }
        // A registration's lookup leaves the queue once the hub has taken
        // it; else FederationRetry sends it again.
        storage_->RunOrInline(
            [this, usable, refusal, queued_key, record = std::move(record),
             results = std::move(results), done = std::move(done)]() mutable {
              if (!usable.ok()) {
                database_->federation_queue().Release(queued_key);
              } else if (absl::Status s =
                             database_->federation_queue().Remove(queued_key);
                         !s.ok()) {
                LogWarning("federation",
                           "a federated lookup the hub took stays queued (it "
                           "will be sent again)",
                           {{"reason", std::string(s.message())}});
              }
              AuditAndFinish(std::move(record), refusal, std::move(results),
                             v1::CHECK_SCOPE_FEDERATION, done);
            });
      });
}

void FederatedCheck::AuditAndFinish(storage::v1::AuditRecord record,
                                    absl::Status refusal,
                                    std::vector<v1::CheckResult> results,
                                    v1::CheckScope scope, const Done& done) {
  uint32_t hits = 0;
  for (const v1::CheckResult& result : results) {
    hits += static_cast<uint32_t>(result.hits_size());
  }
  record.set_hits(hits);
  record.set_code(static_cast<int32_t>(refusal.code()));
  const bool check = record.purpose() == v1::LOOKUP_PURPOSE_CHECK;
  absl::Status audited = database_->audit().Append(std::move(record));
  if (!audited.ok()) {
    LogError("audit", "audit write failed",
             {{"reason", std::string(audited.message())}});
    if (check) {
      return done(absl::UnavailableError(absl::StrCat(
                      "the check could not be audited, so it is not answered: ",
                      audited.message())),
                  {}, scope);
    }
  }
  done(std::move(refusal), std::move(results), scope);
}

}  // namespace deconfliction
