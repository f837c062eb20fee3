#include "server/caps/query_caps.h"

#include "absl/strings/str_cat.h"

namespace deconfliction {

QueryCaps::QueryCaps(
    const google::protobuf::RepeatedPtrField<config::v1::QueryCap>& caps,
    CounterFamily* refusals)
    : refusals_(refusals) {
  Replace(caps);
}

void QueryCaps::Replace(
    const google::protobuf::RepeatedPtrField<config::v1::QueryCap>& caps) {
  std::map<std::string, config::v1::QueryCap> by_agency;
  for (const config::v1::QueryCap& cap : caps) {
    by_agency[cap.agency_id()] = cap;
  }
  absl::MutexLock lock(&mu_);
  caps_.swap(by_agency);
}

const config::v1::QueryCap* QueryCaps::CapFor(
    const std::string& agency_id) const {
  auto it = caps_.find(agency_id);
  if (it == caps_.end()) it = caps_.find("*");
  return it == caps_.end() ? nullptr : &it->second;
}

absl::Status QueryCaps::Admit(const std::string& agency_id,
                              uint64_t identifiers, absl::Time now) {
  const int64_t minute = absl::ToUnixSeconds(now) / 60;
  const int64_t day = minute / (int64_t{24} * 60);
  absl::MutexLock lock(&mu_);
  const config::v1::QueryCap* cap = CapFor(agency_id);
  if (cap == nullptr) return absl::OkStatus();
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
    if (refusals_ != nullptr) {
      refusals_->WithLabels({agency_id, "minute"}).Increment();
    }
    return absl::ResourceExhaustedError(
        absl::StrCat("agency ", agency_id, " is over its cap of ",
                     cap->per_minute(), " identifiers per minute (",
                     usage.in_minute, " used); retry next minute"));
  }
  if (cap->per_day() > 0 && usage.in_day + identifiers > cap->per_day()) {
    if (refusals_ != nullptr) {
      refusals_->WithLabels({agency_id, "day"}).Increment();
    }
    return absl::ResourceExhaustedError(absl::StrCat(
        "agency ", agency_id, " is over its cap of ", cap->per_day(),
        " identifiers per day (", usage.in_day, " used)"));
  }
  usage.in_minute += identifiers;
  usage.in_day += identifiers;
  return absl::OkStatus();
}

}  // namespace deconfliction
