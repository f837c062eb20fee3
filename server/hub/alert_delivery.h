// AlertDelivery: the hub's delivery of queued alerts, over NodeLinks (the
// same callback path as lookups; no thread waits on a node). Each agency
// has one ordered queue and at most one pass in flight. A pass:
//   1. asks the agency's node again about registrations it missed
//      (rechecks), one at a time; the matches found become alerts, queued
//      in the same write that retires the recheck;
//   2. delivers the agency's queued alerts in order, in batches of up to
//      100, and deletes them from the outbox once the node has stored them.
// A pass that fails is retried with exponential backoff (250 ms to 10 s),
// not on every new alert. New work for an agency starts a pass after
// limits.alert_delivery_delay_ms (default 0), which lets a burst go in one
// batch. An agency a reload removed keeps its queue in the outbox, with no
// pass, until a reload adds it again. The outbox is durable and alert ids
// deterministic, so a crash between a delivery and its deletion only causes a
// redelivery that the node recognises.
//
// Threading: one scheduler thread starts passes; their storage work runs on
// the `storage` WorkQueue (inline when it is full), their calls complete on
// gRPC threads. Notify may be called from any thread. The destructor stops
// the scheduler and waits for the passes in flight (each call is bounded by
// its deadline).
#ifndef DECONFLICTION_SERVER_HUB_ALERT_DELIVERY_H_
#define DECONFLICTION_SERVER_HUB_ALERT_DELIVERY_H_

#include <map>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "base/clock.h"
#include "metrics/metrics.h"
#include "rpc/work_queue.h"
#include "server/hub/hub_settings.h"
#include "server/hub/node_links.h"
#include "storage/alert_outbox.h"

namespace deconfliction {

class AlertDelivery {
 public:
  // Everything must outlive the delivery. Every configured agency starts
  // with a pass, which drains what a previous run left in the outbox.
  // It counts, in `metrics`:
  //   deconfliction_hub_alerts_delivered_total{agency}
  //   deconfliction_hub_alerts_set_aside_total{agency}
  AlertDelivery(const HubSettingsInForce* settings, AlertOutbox* outbox,
                NodeLinks* nodes, WorkQueue* storage, MetricsRegistry* metrics,
                Clock clock);
  ~AlertDelivery();

  // `agency` has new alerts or rechecks. An agency seen for the first time
  // (added by a reload) starts with a pass at once.
  void Notify(const std::string& agency);

 private:
  struct Agency {
    bool wanted = true;  // work may be waiting
    bool in_flight = false;
    absl::Time due = absl::InfinitePast();
    absl::Duration backoff;
    // After the node refused a batch: alerts go one at a time until one is
    // delivered, to find the one it refuses.
    bool one_at_a_time = false;
    std::string refused_key;  // the single alert last refused
    int refusals = 0;         // times in a row
  };
  void Schedule();
  // The steps of a pass, each on the storage queue.
  void NextRecheck(const std::string& agency);
  void NextDelivery(const std::string& agency);
  // The node refused the alerts under `keys` (not a transient failure).
  void Refused(const std::string& agency, const std::vector<std::string>& keys,
               const absl::Status& status);
  void PassDone(const std::string& agency, const absl::Status& status);

  const HubSettingsInForce* const settings_;
  AlertOutbox* const outbox_;
  NodeLinks* const nodes_;
  WorkQueue* const storage_;
  const Clock clock_;
  CounterFamily* const delivered_;
  CounterFamily* const set_aside_;
  absl::Mutex mu_;
  std::map<std::string, Agency> agencies_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // When the scheduler, waiting, next wakes unless an agency is due sooner.
  absl::Time wake_by_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread scheduler_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_ALERT_DELIVERY_H_
