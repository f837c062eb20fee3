#include "server/node/alert_intake.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/federation_checks.h"
#include "rpc/deadlines.h"

namespace deconfliction {

absl::StatusOr<IncomingAlert> AlertIntake::WithOwnSide(
    const v1::AlertDelivery& delivery, uint64_t cursor) const {
  IncomingAlert incoming;
  incoming.cursor = cursor;
  v1::Alert& alert = incoming.alert;
  alert.set_alert_id(delivery.alert_id());
  *alert.mutable_raised_at() = delivery.raised_at();
  alert.set_kind(delivery.kind());
  alert.set_other_agency_id(delivery.other_agency_id());
  *alert.mutable_other_contact() = delivery.other_contact();
  alert.set_other_caveat(delivery.other_caveat());
  alert.set_other_case_ref(delivery.other_case_ref());
  alert.set_silent_owner_agency_id(delivery.silent_owner_agency_id());
  *alert.mutable_silent_owner_contact() = delivery.silent_owner_contact();
  if (delivery.has_observed()) {
    *alert.mutable_observed() = delivery.observed();
  }
  // This agency's side, from its own records only.
  absl::StatusOr<std::vector<OwnEntryRecord>> own =
      database_->cases().EntriesForToken(delivery.token());
  if (!own.ok()) return own.status();
  for (const OwnEntryRecord& entry : *own) {
    v1::OwnEntry* shown = alert.add_own_entries();
    shown->set_case_ref(entry.case_ref);
    shown->set_canonical(entry.entry.canonical());
    alert.set_identifier_type(entry.entry.identifier().type());
  }
  return incoming;
}

absl::StatusOr<v1::DeliverAlertsResponse> AlertIntake::Deliver(
    const v1::DeliverAlertsRequest& request) {
  if (recovering_.load()) {
    return absl::UnavailableError(
        "this node is recovering its alerts after a restore; deliver again "
        "shortly");
  }
  const uint32_t limit = config_->limits().max_identifiers_per_request();
  if (static_cast<uint32_t>(request.alerts_size()) > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "alerts: ", request.alerts_size(), " exceeds the limit of ", limit));
  }
  std::vector<IncomingAlert> alerts;
  alerts.reserve(request.alerts_size());
  for (int i = 0; i < request.alerts_size(); ++i) {
    const v1::AlertDelivery& delivery = request.alerts(i);
    if (absl::Status s =
            CheckAlertDelivery(delivery, absl::StrCat("alerts[", i, "]"));
        !s.ok()) {
      return s;
    }
    absl::StatusOr<IncomingAlert> incoming = WithOwnSide(delivery, 0);
    if (!incoming.ok()) return incoming.status();
    alerts.push_back(*std::move(incoming));
  }
  absl::StatusOr<StoredAlerts> stored =
      database_->alerts().Store(std::move(alerts));
  if (!stored.ok()) return stored.status();
  if (stored->stored > 0) feed_.Publish();
  v1::DeliverAlertsResponse response;
  response.set_stored(stored->stored);
  response.set_duplicates(stored->duplicates);
  response.set_aggregated(stored->aggregated);
  response.mutable_cursors()->Add(stored->cursors.begin(),
                                  stored->cursors.end());
  return response;
}

absl::StatusOr<StoredAlerts> AlertIntake::Recover(
    const v1::RecoverAlertsResponse& page) {
  std::vector<IncomingAlert> alerts;
  alerts.reserve(page.alerts_size());
  for (int i = 0; i < page.alerts_size(); ++i) {
    const v1::RecoveredAlert& recovered = page.alerts(i);
    if (absl::Status s = CheckAlertDelivery(recovered.alert(),
                                            absl::StrCat("alerts[", i, "]"));
        !s.ok()) {
      return s;
    }
    absl::StatusOr<IncomingAlert> incoming =
        WithOwnSide(recovered.alert(), recovered.cursor());
    if (!incoming.ok()) return incoming.status();
    alerts.push_back(*std::move(incoming));
  }
  absl::StatusOr<StoredAlerts> stored =
      database_->alerts().Store(std::move(alerts));
  if (stored.ok() && stored->stored > 0) feed_.Publish();
  return stored;
}

absl::StatusOr<std::vector<v1::Alert>> AlertIntake::After(uint64_t cursor,
                                                          size_t limit) const {
  return database_->alerts().After(cursor, limit);
}

absl::StatusOr<v1::AcknowledgeResponse> AlertIntake::Acknowledge(
    const v1::AcknowledgeRequest& request) {
  if (request.alert_ids().empty()) {
    return absl::InvalidArgumentError("alert_ids: at least one is required");
  }
  const uint32_t limit = config_->limits().max_identifiers_per_request();
  if (static_cast<uint32_t>(request.alert_ids_size()) > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("alert_ids: ", request.alert_ids_size(),
                     " exceeds the limit of ", limit));
  }
  absl::StatusOr<AcknowledgedAlerts> outcome = database_->alerts().Acknowledge(
      {request.alert_ids().begin(), request.alert_ids().end()});
  if (!outcome.ok()) return outcome.status();
  v1::AcknowledgeResponse response;
  response.set_acknowledged(outcome->acknowledged);
  for (const std::string& id : outcome->unknown_ids) {
    response.add_unknown_ids(id);
  }
  return response;
}

void AlertIntake::Status(
    absl::Time deadline,
    std::function<void(absl::StatusOr<v1::AlertStatusResponse>)> done) {
  v1::AlertStatusResponse response;
  AlertInbox inbox = database_->alerts().Inbox();
  response.set_last_cursor(inbox.last_cursor);
  response.set_unacknowledged(inbox.unacknowledged);
  absl::StatusOr<FederationQueue::Backlog> waiting =
      database_->federation_queue().Waiting();
  if (!waiting.ok()) return done(waiting.status());
  response.set_lookups_waiting_for_hub(waiting->lookups);
  if (waiting->lookups > 0) {
    response.set_oldest_waiting_seconds(static_cast<uint64_t>(std::max<int64_t>(
        0, absl::ToInt64Seconds(clock_() - waiting->oldest))));
  }
  if (federation_ == nullptr) return done(std::move(response));
  federation_->DeliveryStatus(
      HopDeadline(deadline, clock_(),
                  absl::Milliseconds(config_->hub().timeout_ms())),
      [response, done = std::move(done)](
          absl::StatusOr<v1::DeliveryStatusResponse> hub) mutable {
        if (hub.ok()) {
          response.set_hub_answered(true);
          response.set_pending_at_hub(hub->pending());
          response.set_oldest_pending_seconds(hub->oldest_pending_seconds());
          response.set_set_aside_at_hub(hub->set_aside());
        }
        done(std::move(response));
      });
}

}  // namespace deconfliction
