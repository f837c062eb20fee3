#include "server/hub/match_alerts.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "base/digest.h"

namespace deconfliction {
namespace {

std::string AlertId(v1::AlertKind kind, const std::string& token,
                    const std::string& owner, const std::string& requester,
                    const std::string& recipient, int64_t day) {
  // Length-prefixed fields: no two different inputs share an encoding.
  std::string input;
  for (const std::string& field : {std::to_string(kind), token, owner,
                                   requester, recipient, std::to_string(day)}) {
    absl::StrAppend(&input, field.size(), ":", field);
  }
  return absl::BytesToHexString(Sha256(input).substr(0, 16));
}

}  // namespace

std::vector<storage::v1::OutboxRecord> AlertsForHit(
    const MatchRequest& request, const v1::TokenQuery& query,
    const std::string& owner, const v1::TokenHit& hit,
    const config::v1::SharingPolicy& policy) {
  std::vector<storage::v1::OutboxRecord> alerts;
  if (request.purpose == v1::LOOKUP_PURPOSE_UNSPECIFIED ||
      owner == request.requester) {
    return alerts;
  }
  const bool registration = request.purpose == v1::LOOKUP_PURPOSE_REGISTER;
  const bool silent = hit.sharing() == v1::SHARING_SILENT;
  // A registration in a silent case hides its agency from the owner, as a
  // silent entry hides its owner from the registrant.
  const bool silent_requester =
      registration && request.requester_sharing == v1::SHARING_SILENT;
  // A check alerts once per day per (identifier, owner, asker); a match
  // between two registrations once.
  const int64_t day =
      registration ? 0 : absl::ToUnixSeconds(request.now) / 86400;
  const std::string& centre = policy.coordination_centre_agency_id();
  // A match between two registrations is one, whichever lookup found it:
  // when both registrations' lookups were delayed (a node or the hub was
  // down), each finds the other, and each side must still get one alert.
  const bool unordered = registration && !silent && !silent_requester;
  const std::string& first =
      unordered ? std::min(owner, request.requester) : owner;
  const std::string& second =
      unordered ? std::max(owner, request.requester) : request.requester;
  auto add = [&](v1::AlertKind kind, const std::string& recipient) {
    storage::v1::OutboxRecord record;
    record.set_recipient(recipient);
    v1::AlertDelivery* alert = record.mutable_alert();
    alert->set_alert_id(
        AlertId(kind, query.token(), first, second, recipient, day));
    *alert->mutable_raised_at() = ToTimestamp(request.now);
    alert->set_kind(kind);
    alert->set_token(query.token());
    if (query.has_observed()) *alert->mutable_observed() = query.observed();
    alerts.push_back(std::move(record));
    return alert;
  };
  auto point_to_centre = [&](v1::AlertDelivery* alert) {
    alert->set_other_agency_id(centre);
    *alert->mutable_other_contact() = policy.coordination_centre_contact();
    alert->set_other_caveat(
        "silent entry: the coordination centre will put you in touch");
  };

  // The owner learns who else is on its identifier.
  v1::AlertDelivery* to_owner = add(
      registration ? v1::ALERT_KIND_REGISTRATION_MATCH : v1::ALERT_KIND_CHECKED,
      owner);
  if (silent_requester) {
    point_to_centre(to_owner);
  } else {
    to_owner->set_other_agency_id(request.requester);
    *to_owner->mutable_other_contact() = request.requester_contact;
  }

  if (registration) {
    v1::AlertDelivery* to_requester =
        add(v1::ALERT_KIND_REGISTRATION_MATCH, request.requester);
    if (silent) {
      point_to_centre(to_requester);
    } else {
      to_requester->set_other_agency_id(owner);
      *to_requester->mutable_other_contact() = hit.contact();
      to_requester->set_other_caveat(hit.caveat());
      to_requester->set_other_case_ref(hit.case_ref());
    }
  }
  // The centre is told both sides of a match it keeps apart: the silent
  // side as the silent owner.
  if ((silent || silent_requester) && centre != owner &&
      centre != request.requester) {
    v1::AlertDelivery* to_centre = add(v1::ALERT_KIND_SILENT_MATCH, centre);
    if (silent) {
      to_centre->set_other_agency_id(request.requester);
      *to_centre->mutable_other_contact() = request.requester_contact;
      to_centre->set_silent_owner_agency_id(owner);
      *to_centre->mutable_silent_owner_contact() = hit.contact();
    } else {
      to_centre->set_other_agency_id(owner);
      *to_centre->mutable_other_contact() = hit.contact();
      to_centre->set_silent_owner_agency_id(request.requester);
      *to_centre->mutable_silent_owner_contact() = request.requester_contact;
    }
  }
  return alerts;
}

}  // namespace deconfliction
