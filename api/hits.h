// Conversions between the wire's messages that both the node and the hub
// make, each written once: a node's answer for one entry (TokenHit) as the
// pointer a querier sees (Hit), and a peer that did not answer as a
// NodeOutcome and in words.
#ifndef DECONFLICTION_API_HITS_H_
#define DECONFLICTION_API_HITS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "api/deconfliction/v1/federation.pb.h"

namespace deconfliction {

// `hit`, held by `agency_id`, as the pointer a querier sees: whom to call,
// the caveat, the case reference where the owner shares it, and when.
inline v1::Hit HitFromTokenHit(const v1::TokenHit& hit,
                               const std::string& agency_id) {
  v1::Hit shown;
  shown.set_agency_id(agency_id);
  *shown.mutable_contact() = hit.contact();
  shown.set_caveat(hit.caveat());
  shown.set_case_ref(hit.case_ref());
  *shown.mutable_registered_at() = hit.registered_at();
  if (hit.has_observed()) *shown.mutable_observed() = hit.observed();
  return shown;
}

// `agency_id` ("hub" for the hub) did not answer, because of `why`.
inline v1::NodeOutcome Unanswered(const std::string& agency_id,
                                  const absl::Status& why) {
  v1::NodeOutcome outcome;
  outcome.set_agency_id(agency_id);
  outcome.set_code(static_cast<int32_t>(why.code()));
  outcome.set_message(std::string(why.message()));
  return outcome;
}

// "custodian/a: why; custodian/b: why" for a log line or an error message,
// each reason cut to 200 bytes.
inline std::string DescribeUnanswered(
    const std::vector<v1::NodeOutcome>& unanswered) {
  std::string described;
  for (const v1::NodeOutcome& outcome : unanswered) {
    if (!described.empty()) described += "; ";
    absl::StrAppend(&described, outcome.agency_id(), ": ",
                    outcome.message().substr(0, 200));
  }
  return described;
}

}  // namespace deconfliction

#endif  // DECONFLICTION_API_HITS_H_
