// QueryCaps: per-agency caps on identifiers (the hub's lookups, a
// custodian's evaluations), in fixed windows: the calendar minute and the
// UTC day, against an injected time. A refusal is RESOURCE_EXHAUSTED naming
// the cap; nothing of a refused request is counted.
//
// Thread safety: all methods may be called concurrently.
#ifndef DECONFLICTION_SERVER_CAPS_QUERY_CAPS_H_
#define DECONFLICTION_SERVER_CAPS_QUERY_CAPS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "metrics/metrics.h"

namespace deconfliction {

class QueryCaps {
 public:
  // `caps` as configured: per agency, or "*" for every agency without its
  // own. Each refusal counts in `refusals` (labels agency and window:
  // "minute" or "day") when it is not null; it must outlive the caps.
  explicit QueryCaps(
      const google::protobuf::RepeatedPtrField<config::v1::QueryCap>& caps,
      CounterFamily* refusals = nullptr);

  // Puts `caps` in force (a configuration reload); what each agency used in
  // the current windows still counts.
  void Replace(
      const google::protobuf::RepeatedPtrField<config::v1::QueryCap>& caps);

  // Counts `identifiers` against `agency_id`'s caps at `now`, or refuses
  // them all with RESOURCE_EXHAUSTED naming the cap (nothing is counted).
  absl::Status Admit(const std::string& agency_id, uint64_t identifiers,
                     absl::Time now);

 private:
  struct Usage {
    int64_t minute = -1, day = -1;  // the windows counted
    uint64_t in_minute = 0, in_day = 0;
  };
  const config::v1::QueryCap* CapFor(const std::string& agency_id) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  CounterFamily* const refusals_;
  absl::Mutex mu_;
  std::map<std::string, config::v1::QueryCap> caps_
      ABSL_GUARDED_BY(mu_);  // "*" = default
  std::map<std::string, Usage> usage_ ABSL_GUARDED_BY(mu_);
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_CAPS_QUERY_CAPS_H_
