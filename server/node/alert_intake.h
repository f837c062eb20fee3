// AlertIntake: the node's side of match alerts. The hub delivers alerts
// (Deliver); each gets this agency's side from its own records (the entries
// holding the match's token) and is stored in the AlertLog under the next
// cursor, unless its id is already held (CHECKED alerts are aggregated:
// storage/alert_log.h). Watchers read the log from their cursor (After) and
// are woken through the AlertFeed. After a restore, the alerts delivered
// since the backup are recovered from the hub (Recover, driven by
// server/node/alert_recovery.h); until then, deliveries and watches are
// refused with UNAVAILABLE, so that no cursor is reused or skipped.
//
// Thread safety: all methods may be called concurrently.
#ifndef DECONFLICTION_SERVER_NODE_ALERT_INTAKE_H_
#define DECONFLICTION_SERVER_NODE_ALERT_INTAKE_H_

#include <atomic>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "api/deconfliction/v1/federation.pb.h"
#include "base/clock.h"
#include "server/node/alert_feed.h"
#include "server/node/federation.h"
#include "storage/node_database.h"

namespace deconfliction {

class AlertIntake {
 public:
  // Everything must outlive the intake. `federation` may be null.
  AlertIntake(const config::v1::NodeConfig* config, NodeDatabase* database,
              Federation* federation, Clock clock)
      : config_(config),
        database_(database),
        federation_(federation),
        clock_(std::move(clock)) {}

  // The hub's delivery. INVALID_ARGUMENT for an oversized batch or a bad
  // alert id, UNAVAILABLE while recovering; durable when this returns OK.
  absl::StatusOr<v1::DeliverAlertsResponse> Deliver(
      const v1::DeliverAlertsRequest& request);
  // Stores a page of alerts recovered from the hub under their cursors.
  // INVALID_ARGUMENT for a bad alert.
  absl::StatusOr<StoredAlerts> Recover(const v1::RecoverAlertsResponse& page);
  // Whether alerts are being recovered after a restore (Deliver and Watch
  // are refused meanwhile).
  bool recovering() const { return recovering_.load(); }
  void set_recovering(bool recovering) { recovering_.store(recovering); }
  // Up to `limit` alerts after `cursor`.
  absl::StatusOr<std::vector<v1::Alert>> After(uint64_t cursor,
                                               size_t limit) const;
  // INVALID_ARGUMENT for an empty or oversized list.
  absl::StatusOr<v1::AcknowledgeResponse> Acknowledge(
      const v1::AcknowledgeRequest& request);
  // This node's alert log and, with a federation, the hub's outbox for it
  // (hub_answered false when the hub did not answer by `deadline`). `done`
  // runs exactly once.
  void Status(
      absl::Time deadline,
      std::function<void(absl::StatusOr<v1::AlertStatusResponse>)> done);
  // Wakes watchers when alerts are stored.
  AlertFeed& feed() { return feed_; }

 private:
  const config::v1::NodeConfig* const config_;
  NodeDatabase* const database_;
  Federation* const federation_;
  // The stored form of `delivery`, with this agency's side, to be stored
  // under `cursor` when not 0.
  absl::StatusOr<IncomingAlert> WithOwnSide(const v1::AlertDelivery& delivery,
                                            uint64_t cursor) const;

  const Clock clock_;
  AlertFeed feed_;
  std::atomic<bool> recovering_{false};
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_ALERT_INTAKE_H_
