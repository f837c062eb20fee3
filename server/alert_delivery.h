// AlertDelivery: the hub's delivery of queued alerts, one worker thread per
// configured node (threads per node, not per request: a node has one
// ordered queue). A worker:
//   1. asks its node again about registrations it missed (rechecks); the
//      matches found become alerts, queued in the same write that retires
//      the recheck;
//   2. delivers the node's queued alerts in order, in batches of up to 100,
//      and removes them from the outbox once the node has stored them.
// On failure it retries with exponential backoff (250 ms to 10 s). The
// outbox is durable and alert ids deterministic, so a crash between a
// delivery and its removal only causes a redelivery the node recognises.
//
// Thread safety: Notify may be called from any thread.
#ifndef DECONFLICTION_SERVER_ALERT_DELIVERY_H_
#define DECONFLICTION_SERVER_ALERT_DELIVERY_H_

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "server/fan_out.h"
#include "storage/hub_store.h"
#include "storage/node_store.h"

namespace deconfliction {

class AlertDelivery {
 public:
  // Everything must outlive the delivery; workers start at once and first
  // drain what a previous run left in the outbox.
  AlertDelivery(const config::v1::HubConfig* config, HubStore* store,
                FanOut* fan_out, Clock clock);
  ~AlertDelivery();  // stops and joins the workers

  // `agency` has new alerts or rechecks.
  void Notify(const std::string& agency);

 private:
  struct Worker {
    std::string agency;
    absl::Mutex mu;
    bool woken ABSL_GUARDED_BY(mu) = true;
    bool stopping ABSL_GUARDED_BY(mu) = false;
    std::thread thread;
  };
  void Run(Worker* worker);
  // One pass; OK when the node took everything it was given.
  absl::Status Recheck(const std::string& agency);
  absl::Status Deliver(const std::string& agency, bool* more);

  const config::v1::HubConfig* const config_;
  HubStore* const store_;
  FanOut* const fan_out_;
  const Clock clock_;
  std::map<std::string, std::unique_ptr<Worker>> workers_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_ALERT_DELIVERY_H_
