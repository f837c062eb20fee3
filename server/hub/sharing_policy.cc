#include "server/hub/sharing_policy.h"

#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/hits.h"

namespace deconfliction {

QueryCaps::QueryCaps(const config::v1::SharingPolicy& policy) {
  for (const config::v1::QueryCap& cap : policy.caps()) {
    caps_[cap.agency_id()] = cap;
  }
}

const config::v1::QueryCap* QueryCaps::CapFor(
    const std::string& agency_id) const {
  auto it = caps_.find(agency_id);
  if (it == caps_.end()) it = caps_.find("*");
  return it == caps_.end() ? nullptr : &it->second;
}

absl::Status QueryCaps::Admit(const std::string& agency_id,
                              uint64_t identifiers, absl::Time now) {
  const config::v1::QueryCap* cap = CapFor(agency_id);
  if (cap == nullptr) return absl::OkStatus();
  const int64_t minute = absl::ToUnixSeconds(now) / 60;
  const int64_t day = minute / int64_t{24 * 60};
  absl::MutexLock lock(&mu_);
  Usage& usage = usage_[agency_id];
  if (usage.minute != minute) {
    usage.minute = minute;
    usage.in_minute = 0;
  }
  if (usage.day != day) {
    usage.day = day;
    usage.in_day = 0;
  }
  if (cap->per_minute() > 0 &&
      usage.in_minute + identifiers > cap->per_minute()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("agency ", agency_id, " is over its cap of ",
                     cap->per_minute(), " identifiers per minute (",
                     usage.in_minute, " used); retry next minute"));
  }
  if (cap->per_day() > 0 && usage.in_day + identifiers > cap->per_day()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "agency ", agency_id, " is over its cap of ", cap->per_day(),
        " identifiers per day (", usage.in_day, " used)"));
  }
  usage.in_minute += identifiers;
  usage.in_day += identifiers;
  return absl::OkStatus();
}

absl::StatusOr<CommonIdentifiers> CommonIdentifiers::Load(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy.common_identifiers_file: cannot read ", path));
  }
  CommonIdentifiers common;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text.front() == '#') continue;
    bool hex = text.size() == 64;
    for (char c : text) hex = hex && absl::ascii_isxdigit(c);
    if (!hex) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", number, ": expected a token of 64 hex digits"));
    }
    common.tokens_.insert(absl::HexStringToBytes(text));
  }
  return common;
}

v1::Hit ShareHit(const v1::TokenHit& hit, const std::string& owner,
                 const config::v1::SharingPolicy& policy, bool* silent_owner) {
  v1::Hit shared;
  *silent_owner = hit.sharing() == v1::SHARING_SILENT;
  if (*silent_owner) {
    shared.set_agency_id(policy.coordination_centre_agency_id());
    *shared.mutable_contact() = policy.coordination_centre_contact();
    shared.set_caveat(
        "silent entry: contact the coordination centre, who will put you in "
        "touch with the investigation");
    shared.set_silent(true);
    return shared;
  }
  return HitFromTokenHit(hit, owner);
}

}  // namespace deconfliction
