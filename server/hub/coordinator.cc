#include "server/hub/coordinator.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/federation_checks.h"
#include "api/hits.h"
#include "api/timestamps.h"
#include "base/log.h"
#include "rpc/deadlines.h"
#include "server/hub/match_alerts.h"
#include "storage/audit_log.h"

namespace deconfliction {
namespace {

absl::Status ValidateLookup(const v1::FederatedLookupRequest& request,
                            uint32_t limit) {
  if (static_cast<uint32_t>(request.queries_size()) > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("queries: ", request.queries_size(),
                     " exceeds the limit of ", limit, " per request"));
  }
  return CheckFederatedLookup(request);
}

}  // namespace

void Coordinator::Lookup(const v1::FederatedLookupRequest& request,
                         const FederationIdentity& caller, absl::Time deadline,
                         Done<v1::FederatedLookupResponse> done) {
  const absl::Time now = clock_();
  std::shared_ptr<const HubSettings> settings = settings_->Get();
  storage::v1::AuditRecord record;
  *record.mutable_at() = ToTimestamp(now);
  record.set_caller(caller.uri);
  record.set_operation("/deconfliction.v1.Hub/Lookup");
  record.set_purpose(request.purpose());
  record.set_tokens(request.queries_size());

  absl::Status valid = ValidateLookup(
      request, settings->config.limits().max_tokens_per_request());
  if (!valid.ok()) {
    return AuditAndFinish(std::move(record), valid, {}, {}, std::move(done));
  }
  for (const v1::TokenQuery& query : request.queries()) {
    record.add_queried_tokens(query.token());
  }
  absl::Status admitted =
      caps_->Admit(caller.agency_id, request.queries_size(), now);
  if (!admitted.ok()) {
    return AuditAndFinish(std::move(record), admitted, {}, {}, std::move(done));
  }

  // Common identifiers are answered here and never sent to the nodes.
  v1::FederatedLookupResponse response;
  auto lookup = std::make_shared<v1::TokenLookupRequest>();
  std::vector<int> asked;  // lookup query j is request query asked[j]
  for (int i = 0; i < request.queries_size(); ++i) {
    v1::FederatedAnswer* answer = response.add_answers();
    if (settings->common.Contains(request.queries(i).token())) {
      answer->set_common(true);
      continue;
    }
    *lookup->add_queries() = request.queries(i);
    asked.push_back(i);
  }
  const absl::Time hop = HopDeadline(
      deadline, now,
      absl::Milliseconds(settings->config.limits().node_timeout_ms()));
  AskAll(
      *nodes_, lookup, hop, caller.agency_id,
      [this, settings,
       match = MatchRequest{request.purpose(), caller.agency_id,
                            request.requester_contact(), now,
                            request.requester_sharing()},
       asked = std::move(asked), lookup, response = std::move(response),
       record = std::move(record),
       done = std::move(done)](const std::vector<NodeAnswer>& answers) mutable {
        Queued queued;
        Merge(settings->config.policy(), match, asked, *lookup, answers,
              &response, &record, &queued);
        AuditAndFinish(std::move(record), absl::OkStatus(), std::move(response),
                       std::move(queued), std::move(done));
      });
}

void Coordinator::Merge(const config::v1::SharingPolicy& policy,
                        const MatchRequest& match,
                        const std::vector<int>& asked,
                        const v1::TokenLookupRequest& lookup,
                        const std::vector<NodeAnswer>& answers,
                        v1::FederatedLookupResponse* response,
                        storage::v1::AuditRecord* record,
                        Queued* queued) const {
  uint32_t hits = 0;
  for (const NodeAnswer& node : answers) {
    absl::Status answer = node.status;
    if (answer.ok()) {
      // A node is trusted to be who its certificate says, not to answer
      // well: a malformed answer is refused whole, and said so.
      answer = CheckTokenLookupResponse(node.response,
                                        static_cast<int>(asked.size()));
      if (!answer.ok()) {
        LogWarning("hub", "refused a node's answer",
                   {{"agency", node.agency_id},
                    {"reason", std::string(answer.message())}});
        answer = absl::InternalError(
            absl::StrCat("its answer was refused: ", answer.message()));
      }
    }
    if (!answer.ok()) {
      const v1::NodeOutcome outcome = Unanswered(node.agency_id, answer);
      *response->add_unanswered() = outcome;
      *record->add_unanswered() = outcome;
      // A registration this node could not be asked about is asked again
      // when it is back.
      if (match.purpose == v1::LOOKUP_PURPOSE_REGISTER &&
          !lookup.queries().empty()) {
        storage::v1::RecheckRecord recheck;
        recheck.set_agency(node.agency_id);
        recheck.set_requester(match.requester);
        *recheck.mutable_requester_contact() = match.requester_contact;
        recheck.set_requester_sharing(match.requester_sharing);
        *recheck.mutable_queries() = lookup.queries();
        *recheck.mutable_created_at() = ToTimestamp(match.now);
        queued->rechecks.push_back(std::move(recheck));
      }
      continue;
    }
    response->add_answered(node.agency_id);
    record->add_answered(node.agency_id);
    for (size_t j = 0; j < asked.size(); ++j) {
      for (const v1::TokenHit& hit :
           node.response.answers(static_cast<int>(j)).hits()) {
        bool silent = false;
        *response->mutable_answers(asked[j])->add_hits() =
            ShareHit(hit, node.agency_id, policy, &silent);
        if (silent) record->add_silent_owners(node.agency_id);
        ++hits;
        for (auto& alert :
             AlertsForHit(match, lookup.queries(static_cast<int>(j)),
                          node.agency_id, hit, policy)) {
          queued->alerts.push_back(std::move(alert));
        }
      }
    }
  }
  record->set_hits(hits);
}

void Coordinator::AuditAndFinish(storage::v1::AuditRecord record,
                                 const absl::Status& status,
                                 v1::FederatedLookupResponse response,
                                 Queued queued,
                                 Done<v1::FederatedLookupResponse> done) {
  record.set_code(static_cast<int32_t>(status.code()));
  const bool outbox = !queued.alerts.empty() || !queued.rechecks.empty();
  auto finish = [this, record = std::move(record), status,
                 response = std::move(response), queued = std::move(queued),
                 done = std::move(done)]() mutable {
    // Alerts are durable in the outbox before the lookup is answered.
    absl::Status persisted =
        database_->outbox().Enqueue(queued.alerts, queued.rechecks);
    if (!persisted.ok()) {
      record.set_code(static_cast<int32_t>(absl::StatusCode::kUnavailable));
    }
    absl::Status audited = database_->audit().Append(std::move(record));
    if (persisted.ok()) {
      for (const auto& alert : queued.alerts) {
        delivery_->Notify(alert.recipient());
      }
      for (const auto& recheck : queued.rechecks) {
        delivery_->Notify(recheck.agency());
      }
    }
    // An unaudited answer, or one whose alerts could not be kept, is not
    // given.
    if (!persisted.ok()) {
      return done(absl::UnavailableError(
          absl::StrCat("alert outbox: ", persisted.message())));
    }
    if (!audited.ok()) return done(audited);
    if (!status.ok()) return done(status);
    done(std::move(response));
  };
  // The outbox's write is synced: a worker waits for the disk. The audit
  // append alone waits for none (storage/audit_log.h), so it runs here.
  if (outbox) return writes_->RunOrInline(std::move(finish));
  finish();
}

void Coordinator::DeliveryStatus(const FederationIdentity& caller,
                                 Done<v1::DeliveryStatusResponse> done) {
  auto shared =
      std::make_shared<Done<v1::DeliveryStatusResponse>>(std::move(done));
  bool admitted = writes_->TrySubmit([this, agency = caller.agency_id, shared] {
    absl::StatusOr<AlertOutbox::Backlog> backlog =
        database_->outbox().BacklogFor(agency);
    if (!backlog.ok()) return (*shared)(backlog.status());
    v1::DeliveryStatusResponse response;
    response.set_pending(backlog->alerts);
    response.set_set_aside(backlog->set_aside);
    if (backlog->alerts > 0) {
      response.set_oldest_pending_seconds(
          static_cast<uint64_t>(std::max<int64_t>(
              0, absl::ToInt64Seconds(clock_() - backlog->oldest_alert))));
    }
    (*shared)(std::move(response));
  });
  if (!admitted) {
    (*shared)(absl::ResourceExhaustedError("hub is busy; retry"));
  }
}

void Coordinator::AnchorAudit(const v1::AnchorAuditRequest& request,
                              const FederationIdentity& caller,
                              Done<v1::AnchorAuditResponse> done) {
  if (request.seq() == 0) {
    return done(absl::InvalidArgumentError("seq: must be at least 1"));
  }
  if (request.mac().size() != kAuditMacBytes) {
    return done(absl::InvalidArgumentError(
        absl::StrCat("mac: must be ", kAuditMacBytes, " bytes, not ",
                     request.mac().size())));
  }
  storage::v1::AuditRecord record;
  *record.mutable_at() = ToTimestamp(clock_());
  record.set_caller(caller.uri);
  record.set_operation("/deconfliction.v1.Hub/AnchorAudit");
  storage::v1::AuditAnchor* anchor = record.mutable_anchor();
  anchor->set_agency(caller.agency_id);
  anchor->set_seq(request.seq());
  anchor->set_mac(request.mac());
  {
    absl::MutexLock lock(&anchors_mu_);
    storage::v1::AuditAnchor& newest = newest_anchor_[caller.agency_id];
    if (request.seq() < newest.seq()) {
      LogWarning("audit",
                 "an agency's audit trail went back: its head is older than "
                 "the one anchored before (records were cut, or the node was "
                 "restored from a backup); recorded",
                 {{"agency", caller.agency_id},
                  {"seq", request.seq()},
                  {"anchored_seq", newest.seq()}});
    } else if (request.seq() == newest.seq() && request.mac() != newest.mac()) {
      LogWarning("audit",
                 "an agency's audit trail went back: its record is not the "
                 "one anchored before (records were cut and written again, or "
                 "the node was restored from a backup); recorded",
                 {{"agency", caller.agency_id}, {"seq", request.seq()}});
    }
    newest = *anchor;
  }
  auto shared =
      std::make_shared<Done<v1::AnchorAuditResponse>>(std::move(done));
  bool admitted =
      writes_->TrySubmit([this, record = std::move(record), shared]() mutable {
        absl::Status audited = database_->audit().Append(std::move(record));
        if (!audited.ok()) return (*shared)(audited);
        (*shared)(v1::AnchorAuditResponse());
      });
  if (!admitted) {
    (*shared)(absl::ResourceExhaustedError("hub is busy; retry"));
  }
}

void Coordinator::RecoverAlerts(const v1::RecoverAlertsRequest& request,
                                const FederationIdentity& caller,
                                Done<v1::RecoverAlertsResponse> done) {
  auto shared =
      std::make_shared<Done<v1::RecoverAlertsResponse>>(std::move(done));
  const uint32_t retention_days =
      settings_->Get()->config.limits().alert_retention_days();
  bool admitted = writes_->TrySubmit(
      [this, request, retention_days, agency = caller.agency_id, shared] {
        absl::StatusOr<AlertOutbox::DeliveredPage> page =
            database_->outbox().Delivered(agency, request.after_cursor(),
                                          request.page_token(),
                                          kRecoveredAlertsPerPage);
        if (!page.ok()) return (*shared)(page.status());
        v1::RecoverAlertsResponse response;
        for (storage::v1::DeliveredRecord& record : page->alerts) {
          v1::RecoveredAlert* recovered = response.add_alerts();
          *recovered->mutable_alert() = std::move(*record.mutable_alert());
          recovered->set_cursor(record.cursor());
        }
        response.set_next_page_token(page->next_page_token);
        response.set_last_cursor(page->last_cursor);
        response.set_retention_days(retention_days);
        (*shared)(std::move(response));
      });
  if (!admitted) {
    (*shared)(absl::ResourceExhaustedError("hub is busy; retry"));
  }
}

}  // namespace deconfliction
