// FederationRetry: sends the registrations waiting in the FederationQueue to
// the hub again, oldest first, until the hub takes each one; a taken lookup
// leaves the queue. Its matches are then found and alerted by the hub as
// for any registration. It looks every kFederationRetryInterval and then
// sends all it can. When the hub refuses one over the agency's cap
// (RESOURCE_EXHAUSTED), it waits for the next calendar minute (the caps'
// window); after any other failure it backs off, from
// kFederationRetryInterval doubling to kFederationRetryMaxBackoff, and
// starts again at the interval once the hub takes one.
//
// Threading: one thread of its own (Periodic), which waits on the hub's
// answer (at most hub.timeout_ms). The destructor stops and joins it.
#ifndef DECONFLICTION_SERVER_NODE_FEDERATION_RETRY_H_
#define DECONFLICTION_SERVER_NODE_FEDERATION_RETRY_H_

#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "base/clock.h"
#include "base/periodic.h"
#include "server/node/federation.h"
#include "storage/federation_queue.h"

namespace deconfliction {

inline constexpr absl::Duration kFederationRetryInterval = absl::Seconds(2);
inline constexpr absl::Duration kFederationRetryMaxBackoff = absl::Seconds(10);

class FederationRetry {
 public:
  // Everything must outlive the retry.
  FederationRetry(const config::v1::NodeConfig* config, Federation* federation,
                  FederationQueue* queue, Clock clock);

 private:
  // Sends the oldest queued lookups, in order, until the hub fails one.
  void SendOldest();
  // When to try again after the hub answered `status`.
  void HoldAfter(const absl::Status& status);

  const config::v1::NodeConfig* const config_;
  Federation* const federation_;
  FederationQueue* const queue_;
  const Clock clock_;
  // Used by the periodic thread only.
  absl::Time resume_at_ = absl::InfinitePast();
  absl::Duration backoff_ = kFederationRetryInterval;
  Periodic periodic_;  // last: stops first
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_FEDERATION_RETRY_H_
