#include "server/hub_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "identifiers/token.h"
#include "security/identity.h"
#include "server/grpc_status.h"

namespace deconfliction {
namespace {

constexpr absl::Duration kReplyMargin = absl::Milliseconds(100);

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
                                absl::Status status) {
  record.set_code(static_cast<int32_t>(status.code()));
  auto write = [this, reactor, record = std::move(record), status]() mutable {
    absl::Status audited = store_->AppendAudit(std::move(record));
    // An unaudited answer is not given.
    reactor->Finish(ToGrpcStatus(audited.ok() ? status : audited));
  };
  auto shared = std::make_shared<decltype(write)>(std::move(write));
  if (!audit_queue_->TrySubmit([shared] { (*shared)(); })) (*shared)();
}

grpc::ServerUnaryReactor* HubService::Lookup(
    grpc::CallbackServerContext* context,
    const v1::FederatedLookupRequest* request,
    v1::FederatedLookupResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<FederationIdentity> caller =
      PeerIdentity(*context->auth_context());
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
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
      std::min(absl::FromChrono(context->deadline()) - kReplyMargin,
               now + absl::Milliseconds(config_->limits().node_timeout_ms()));
  fan_out_->Lookup(
      std::move(lookup), deadline, caller->agency_id,
      [this, reactor, response, record = std::move(record),
       asked = std::move(asked)](std::vector<NodeAnswer> answers) mutable {
        uint32_t hits = 0;
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
            }
          }
        }
        record.set_hits(hits);
        AuditAndFinish(reactor, std::move(record), absl::OkStatus());
      });
  return reactor;
}

}  // namespace deconfliction
