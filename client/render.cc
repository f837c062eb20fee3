#include "client/render.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "api/timestamps.h"
#include "base/untrusted_text.h"
#include "identifiers/canonical.h"

namespace deconfliction {
namespace {

std::string When(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", FromTimestamp(timestamp),
                          absl::UTCTimeZone());
}

// Every string a node sent (its own or another agency's text) is printed
// through Shown: a control character in it would act on the terminal.
std::string Shown(const std::string& text) { return EscapeForTerminal(text); }

std::string ContactLine(const v1::Contact& contact) {
  std::vector<std::string> parts;
  for (const std::string* part :
       {&contact.name(), &contact.unit(), &contact.phone(), &contact.email()}) {
    if (!part->empty()) parts.push_back(Shown(*part));
  }
  return absl::StrJoin(parts, ", ");
}

const char* StateName(v1::CaseState state) {
  switch (state) {
    case v1::CASE_STATE_OPEN:
      return "open";
    case v1::CASE_STATE_CLOSED:
      return "closed";
    case v1::CASE_STATE_EXPIRED:
      return "expired";
    default:
      return "?";
  }
}

}  // namespace

void ResultTally::Add(const v1::CheckResult& result) {
  ++identifiers;
  if (result.hits_size() > 0) {
    ++with_hits;
  } else if (!result.complete()) {
    ++unknown;
  }
  for (const v1::NodeOutcome& unanswered : result.unanswered()) {
    if (unanswered.agency_id() != "hub") continue;
    ++hub_not_taken;
    if (unanswered.code() ==
        static_cast<int>(absl::StatusCode::kResourceExhausted)) {
      ++hub_over_cap;
    }
  }
}

void RenderWaitingLookups(const ResultTally& tally, std::ostream& out) {
  if (tally.hub_not_taken == 0) return;
  out << tally.hub_not_taken << " identifier"
      << (tally.hub_not_taken == 1 ? "'s federated lookup was"
                                   : "s' federated lookups were")
      << " not taken by the hub ("
      << (tally.hub_over_cap == tally.hub_not_taken
              ? "over your agency's query cap"
              : "over your agency's query cap, or the hub did not answer")
      << "): your node keeps them and sends them again, within the cap; "
         "matches found then are alerted to both sides (`deconflict alerts` "
         "shows how many wait)\n";
}

void RenderResult(const std::string& label, const v1::CheckResult& result,
                  std::ostream& out) {
  const char* verdict = result.hits_size() > 0 ? "HIT"
                        : result.complete()    ? "no hit"
                                               : "UNKNOWN";
  out << absl::StrFormat("%-8s %s", verdict, Shown(label));
  if (!result.canonical().empty() && result.canonical() != label) {
    out << "  [" << Shown(result.canonical()) << "]";
  }
  out << "\n";
  for (const v1::Hit& hit : result.hits()) {
    out << "         " << Shown(hit.agency_id()) << ": "
        << ContactLine(hit.contact()) << "\n";
    if (!hit.caveat().empty()) {
      out << "           caveat: " << Shown(hit.caveat()) << "\n";
    }
    if (!hit.case_ref().empty()) {
      out << "           case: " << Shown(hit.case_ref()) << "  registered "
          << When(hit.registered_at()) << "\n";
    }
  }
  for (const v1::NodeOutcome& node : result.unanswered()) {
    out << "         not answered by " << Shown(node.agency_id()) << ": "
        << Shown(node.message()) << "\n";
  }
}

void RenderTally(const ResultTally& tally, v1::CheckScope scope,
                 std::ostream& out) {
  out << tally.identifiers << " identifier"
      << (tally.identifiers == 1 ? "" : "s") << ": " << tally.with_hits
      << " held by an investigation";
  if (tally.unknown > 0) out << ", " << tally.unknown << " not known";
  out << " (searched: "
      << (scope == v1::CHECK_SCOPE_FEDERATION ? "the whole federation"
                                              : "this node only")
      << ")\n";
}

void RenderCaseLine(const v1::Case& c, std::ostream& out) {
  out << absl::StrFormat("%-24s %-8s %7d  %-30s %s\n", Shown(c.case_ref()),
                         StateName(c.state()), c.entry_count(),
                         Shown(c.contact().name()), When(c.expires_at()));
}

void RenderCase(const v1::Case& c, std::ostream& out) {
  out << "case " << Shown(c.case_ref()) << " (" << StateName(c.state()) << ")\n"
      << "  contact:  " << ContactLine(c.contact()) << "\n";
  if (!c.caveat().empty()) out << "  caveat:   " << Shown(c.caveat()) << "\n";
  out << "  sharing:  " << v1::Sharing_Name(c.sharing()) << "\n"
      << "  created:  " << When(c.created_at()) << " by "
      << Shown(c.created_by()) << "\n"
      << "  expires:  " << When(c.expires_at()) << "\n";
  if (c.state() == v1::CASE_STATE_CLOSED) {
    out << "  closed:   " << When(c.closed_at()) << "  "
        << Shown(c.close_reason()) << "\n";
  }
  out << "  entries:  " << c.entry_count() << "\n";
  for (const v1::Entry& entry : c.entries()) {
    out << absl::StrFormat("    %-15s %s\n",
                           IdentifierTypeName(entry.identifier().type()),
                           Shown(entry.canonical()));
  }
}

void RenderAlert(const v1::Alert& alert, std::ostream& out) {
  const char* what = "MATCH";
  switch (alert.kind()) {
    case v1::ALERT_KIND_REGISTRATION_MATCH:
      what = "MATCH: another investigation holds your identifier";
      break;
    case v1::ALERT_KIND_CHECKED:
      what = "CHECKED: another agency looked up your identifier";
      break;
    case v1::ALERT_KIND_SILENT_MATCH:
      what = "SILENT MATCH: put both sides in touch";
      break;
    default:
      break;
  }
  out << "ALERT #" << alert.cursor() << "  " << When(alert.raised_at()) << "  "
      << what << "\n";
  for (const v1::OwnEntry& own : alert.own_entries()) {
    out << "  yours:  case " << Shown(own.case_ref()) << "  "
        << IdentifierTypeName(alert.identifier_type()) << " "
        << Shown(own.canonical()) << "\n";
  }
  if (alert.own_entries().empty()) {
    out << "  yours:  (no open case of yours holds it any longer)\n";
  }
  if (alert.checked_count() > 1) {
    out << "          checked " << alert.checked_count()
        << " times that day by " << Shown(alert.other_agency_id())
        << " (until you acknowledge this alert)\n";
  }
  out << "  other:  " << Shown(alert.other_agency_id()) << ": "
      << ContactLine(alert.other_contact()) << "\n";
  if (!alert.other_caveat().empty()) {
    out << "          caveat: " << Shown(alert.other_caveat()) << "\n";
  }
  if (!alert.other_case_ref().empty()) {
    out << "          case: " << Shown(alert.other_case_ref()) << "\n";
  }
  if (!alert.silent_owner_agency_id().empty()) {
    out << "  silent owner: " << Shown(alert.silent_owner_agency_id()) << ": "
        << ContactLine(alert.silent_owner_contact()) << "\n";
  }
  out << "  id: " << Shown(alert.alert_id()) << "\n";
}

}  // namespace deconfliction
