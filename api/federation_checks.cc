#include "api/federation_checks.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "base/untrusted_text.h"
#include "google/protobuf/util/time_util.h"

namespace deconfliction {
namespace {

using google::protobuf::util::TimeUtil;

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// An identity-like field: printable, non-empty when `required`, bounded.
absl::Status CheckName(const std::string& value, absl::string_view field,
                       size_t max_bytes, bool required) {
  if (required && value.empty()) return Invalid(field, "required");
  return CheckFreeText(value, field, max_bytes);
}

absl::Status CheckTimestamp(const google::protobuf::Timestamp& at,
                            absl::string_view field) {
  if (at.seconds() < TimeUtil::kTimestampMinSeconds ||
      at.seconds() > TimeUtil::kTimestampMaxSeconds || at.nanos() < 0 ||
      at.nanos() > 999999999) {
    return Invalid(field, "not a valid timestamp");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckContact(const v1::Contact& contact, absl::string_view field) {
  for (auto [value, name] : {std::pair(&contact.name(), "name"),
                             std::pair(&contact.phone(), "phone"),
                             std::pair(&contact.email(), "email"),
                             std::pair(&contact.unit(), "unit")}) {
    if (absl::Status s = CheckFreeText(*value, absl::StrCat(field, ".", name),
                                       kMaxTextFieldBytes);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckWindow(const v1::TimeWindow& window,
                         absl::string_view field) {
  if (window.has_start()) {
    if (absl::Status s =
            CheckTimestamp(window.start(), absl::StrCat(field, ".start"));
        !s.ok()) {
      return s;
    }
  }
  if (window.has_end()) {
    if (absl::Status s =
            CheckTimestamp(window.end(), absl::StrCat(field, ".end"));
        !s.ok()) {
      return s;
    }
  }
  if (window.has_start() && window.has_end() && window.end() < window.start()) {
    return Invalid(field, "ends before it starts");
  }
  return absl::OkStatus();
}

absl::Status CheckTokenQuery(const v1::TokenQuery& query,
                             absl::string_view field) {
  if (query.token().size() != kFederationTokenBytes) {
    return Invalid(absl::StrCat(field, ".token"),
                   absl::StrCat(query.token().size(), " bytes; expected ",
                                kFederationTokenBytes));
  }
  return CheckWindow(query.observed(), absl::StrCat(field, ".observed"));
}

absl::Status CheckTokenHit(const v1::TokenHit& hit, absl::string_view field) {
  if (absl::Status s =
          CheckContact(hit.contact(), absl::StrCat(field, ".contact"));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckFreeText(
          hit.caveat(), absl::StrCat(field, ".caveat"), kMaxTextFieldBytes);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckFreeText(
          hit.case_ref(), absl::StrCat(field, ".case_ref"), kMaxCaseRefBytes);
      !s.ok()) {
    return s;
  }
  if (!v1::Sharing_IsValid(hit.sharing())) {
    return Invalid(absl::StrCat(field, ".sharing"),
                   absl::StrCat("unknown value ", hit.sharing()));
  }
  if (hit.has_registered_at()) {
    if (absl::Status s = CheckTimestamp(hit.registered_at(),
                                        absl::StrCat(field, ".registered_at"));
        !s.ok()) {
      return s;
    }
  }
  return CheckWindow(hit.observed(), absl::StrCat(field, ".observed"));
}

absl::Status CheckTokenLookupResponse(const v1::TokenLookupResponse& response,
                                      int queries) {
  if (response.answers_size() != queries) {
    return Invalid("answers",
                   absl::StrCat(response.answers_size(), " answers to ",
                                queries, " queries"));
  }
  for (int i = 0; i < response.answers_size(); ++i) {
    const v1::TokenAnswer& answer = response.answers(i);
    if (answer.hits_size() > kMaxHitsPerToken) {
      return Invalid(absl::StrCat("answers[", i, "].hits"),
                     absl::StrCat(answer.hits_size(), " hits; at most ",
                                  kMaxHitsPerToken));
    }
    for (int j = 0; j < answer.hits_size(); ++j) {
      if (absl::Status s = CheckTokenHit(
              answer.hits(j), absl::StrCat("answers[", i, "].hits[", j, "]"));
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckFederatedLookup(const v1::FederatedLookupRequest& request) {
  if (request.purpose() != v1::LOOKUP_PURPOSE_CHECK &&
      request.purpose() != v1::LOOKUP_PURPOSE_REGISTER) {
    return Invalid("purpose", absl::StrCat("must be LOOKUP_PURPOSE_CHECK or "
                                           "LOOKUP_PURPOSE_REGISTER, not ",
                                           request.purpose()));
  }
  if (absl::Status s =
          CheckContact(request.requester_contact(), "requester_contact");
      !s.ok()) {
    return s;
  }
  if (!v1::Sharing_IsValid(request.requester_sharing()) ||
      (request.purpose() == v1::LOOKUP_PURPOSE_CHECK &&
       request.requester_sharing() != v1::SHARING_UNSPECIFIED)) {
    return Invalid("requester_sharing",
                   absl::StrCat(request.requester_sharing(),
                                " is not a sharing of a registration"));
  }
  for (int i = 0; i < request.queries_size(); ++i) {
    if (absl::Status s = CheckTokenQuery(request.queries(i),
                                         absl::StrCat("queries[", i, "]"));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckAlertDelivery(const v1::AlertDelivery& alert,
                                absl::string_view field) {
  auto at = [&](absl::string_view name) {
    return absl::StrCat(field, ".", name);
  };
  if (absl::Status s =
          CheckName(alert.alert_id(), at("alert_id"), kMaxAlertIdBytes, true);
      !s.ok()) {
    return s;
  }
  if (alert.kind() == v1::ALERT_KIND_UNSPECIFIED ||
      !v1::AlertKind_IsValid(alert.kind())) {
    return Invalid(at("kind"), absl::StrCat("unknown value ", alert.kind()));
  }
  if (alert.token().size() != kFederationTokenBytes) {
    return Invalid(at("token"),
                   absl::StrCat(alert.token().size(), " bytes; expected ",
                                kFederationTokenBytes));
  }
  if (alert.has_raised_at()) {
    if (absl::Status s = CheckTimestamp(alert.raised_at(), at("raised_at"));
        !s.ok()) {
      return s;
    }
  }
  for (auto [value, name, max, required] :
       {std::make_tuple(&alert.other_agency_id(), "other_agency_id",
                        kMaxAgencyIdBytes, false),
        std::make_tuple(&alert.silent_owner_agency_id(),
                        "silent_owner_agency_id", kMaxAgencyIdBytes, false),
        std::make_tuple(&alert.other_caveat(), "other_caveat",
                        kMaxTextFieldBytes, false),
        std::make_tuple(&alert.other_case_ref(), "other_case_ref",
                        kMaxCaseRefBytes, false)}) {
    if (absl::Status s = CheckName(*value, at(name), max, required); !s.ok()) {
      return s;
    }
  }
  for (auto [contact, name] :
       {std::pair(&alert.other_contact(), "other_contact"),
        std::pair(&alert.silent_owner_contact(), "silent_owner_contact")}) {
    if (absl::Status s = CheckContact(*contact, at(name)); !s.ok()) return s;
  }
  return CheckWindow(alert.observed(), at("observed"));
}

}  // namespace deconfliction
