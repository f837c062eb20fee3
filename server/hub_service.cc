#include "server/hub_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "identifiers/token.h"
#include "security/identity.h"
#include "server/channels.h"
#include "server/grpc_status.h"
#include "server/match_alerts.h"

namespace deconfliction {
namespace {

absl::Status ValidateLookup(const v1::FederatedLookupRequest& request,
                            uint32_t limit) {
  if (static_cast<uint32_t>(request.queries_size()) > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("queries: ", request.queries_size(),
                     " exceeds the limit of ", limit, " per request"));
  }
  for (int i = 0; i < request.queries_size(); ++i) {
    if (request.queries(i).token().size() != kTokenBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "queries[", i, "].token: ", request.queries(i).token().size(),
          " bytes; expected ", kTokenBytes));
    }
  }
  return absl::OkStatus();
}

}  // namespace

void HubService::AuditAndFinish(grpc::ServerUnaryReactor* reactor,
                                storage::v1::AuditRecord record,
                                absl::Status status, Queued queued) {
  record.set_code(static_cast<int32_t>(status.code()));
  auto write = [this, reactor, record = std::move(record), status,
                queued = std::move(queued)]() mutable {
    // Alerts are durable in the outbox before the lookup is answered.
    absl::Status persisted = store_->Enqueue(queued.alerts, queued.rechecks);
    if (!persisted.ok()) {
      record.set_code(static_cast<int32_t>(absl::StatusCode::kUnavailable));
    }
    absl::Status audited = store_->AppendAudit(std::move(record));
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
    absl::Status outcome = !persisted.ok()
                               ? absl::UnavailableError(absl::StrCat(
                                     "alert outbox: ", persisted.message()))
                               : (audited.ok() ? status : audited);
    reactor->Finish(ToGrpcStatus(outcome));
  };
  auto shared = std::make_shared<decltype(write)>(std::move(write));
  if (!audit_queue_->TrySubmit([shared] { (*shared)(); })) (*shared)();
}

grpc::ServerUnaryReactor* HubService::DeliveryStatus(
    grpc::CallbackServerContext* context,
    const v1::DeliveryStatusRequest* /*request*/,
    v1::DeliveryStatusResponse* response) {
  absl::StatusOr<FederationIdentity> caller =
      PeerIdentity(*context->auth_context());
  if (!caller.ok()) return FinishNow(context, caller.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  bool admitted = audit_queue_->TrySubmit([this, reactor, response,
                                           agency = caller->agency_id] {
    absl::StatusOr<HubStore::Backlog> backlog = store_->BacklogFor(agency);
    if (backlog.ok()) {
      response->set_pending(backlog->alerts);
      if (backlog->alerts > 0) {
        response->set_oldest_pending_seconds(
            static_cast<uint64_t>(std::max<int64_t>(
                0, absl::ToInt64Seconds(clock_() - backlog->oldest_alert))));
      }
    }
    reactor->Finish(ToGrpcStatus(backlog.status()));
  });
  if (!admitted) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "hub is busy; retry"));
  }
  return reactor;
}

grpc::ServerUnaryReactor* HubService::Lookup(
    grpc::CallbackServerContext* context,
    const v1::FederatedLookupRequest* request,
    v1::FederatedLookupResponse* response) {
  absl::StatusOr<FederationIdentity> caller =
      PeerIdentity(*context->auth_context());
  if (!caller.ok()) return FinishNow(context, caller.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time now = clock_();
  storage::v1::AuditRecord record;
  *record.mutable_at() = ToTimestamp(now);
  record.set_caller(caller->uri);
  record.set_operation("/deconfliction.v1.Hub/Lookup");
  record.set_purpose(request->purpose());
  record.set_tokens(request->queries_size());

  absl::Status valid =
      ValidateLookup(*request, config_->limits().max_tokens_per_request());
  if (!valid.ok()) {
    AuditAndFinish(reactor, std::move(record), valid);
    return reactor;
  }
  absl::Status admitted =
      caps_->Admit(caller->agency_id, request->queries_size(), now);
  if (!admitted.ok()) {
    AuditAndFinish(reactor, std::move(record), admitted);
    return reactor;
  }

  // Common identifiers are answered here and never sent to the nodes.
  v1::TokenLookupRequest lookup;
  std::vector<int> asked;  // lookup query j is request query asked[j]
  for (int i = 0; i < request->queries_size(); ++i) {
    v1::FederatedAnswer* answer = response->add_answers();
    if (common_->Contains(request->queries(i).token())) {
      answer->set_common(true);
      continue;
    }
    *lookup.add_queries() = request->queries(i);
    asked.push_back(i);
  }
  absl::Time deadline =
      HopDeadline(absl::FromChrono(context->deadline()), now,
                  absl::Milliseconds(config_->limits().node_timeout_ms()));
  MatchRequest match{request->purpose(), caller->agency_id,
                     request->requester_contact(), now};
  fan_out_->Lookup(
      lookup, deadline, caller->agency_id,
      [this, reactor, response, record = std::move(record),
       asked = std::move(asked), lookup,
       match = std::move(match)](std::vector<NodeAnswer> answers) mutable {
        uint32_t hits = 0;
        Queued queued;
        for (const NodeAnswer& node : answers) {
          bool usable = node.status.ok() && node.response.answers_size() ==
                                                static_cast<int>(asked.size());
          if (!usable) {
            v1::NodeOutcome* outcome = response->add_unanswered();
            outcome->set_agency_id(node.agency_id);
            absl::Status why =
                node.status.ok()
                    ? absl::InternalError("answer has the wrong size")
                    : node.status;
            outcome->set_code(static_cast<int32_t>(why.code()));
            outcome->set_message(std::string(why.message()));
            *record.add_unanswered() = *outcome;
            // A registration this node could not be asked about is asked
            // again when it is back.
            if (match.purpose == v1::LOOKUP_PURPOSE_REGISTER &&
                !lookup.queries().empty()) {
              storage::v1::RecheckRecord recheck;
              recheck.set_agency(node.agency_id);
              recheck.set_requester(match.requester);
              *recheck.mutable_requester_contact() = match.requester_contact;
              *recheck.mutable_queries() = lookup.queries();
              *recheck.mutable_created_at() = ToTimestamp(match.now);
              queued.rechecks.push_back(std::move(recheck));
            }
            continue;
          }
          response->add_answered(node.agency_id);
          record.add_answered(node.agency_id);
          for (size_t j = 0; j < asked.size(); ++j) {
            for (const v1::TokenHit& hit : node.response.answers(j).hits()) {
              bool silent = false;
              *response->mutable_answers(asked[j])->add_hits() =
                  ShareHit(hit, node.agency_id, config_->policy(), &silent);
              if (silent) record.add_silent_owners(node.agency_id);
              ++hits;
              for (auto& alert :
                   AlertsForHit(match, lookup.queries(j), node.agency_id, hit,
                                config_->policy())) {
                queued.alerts.push_back(std::move(alert));
              }
            }
          }
        }
        record.set_hits(hits);
        AuditAndFinish(reactor, std::move(record), absl::OkStatus(),
                       std::move(queued));
      });
  return reactor;
}

}  // namespace deconfliction
