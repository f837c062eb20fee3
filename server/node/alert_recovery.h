// AlertRecovery: after a restore from a backup (deconflict-node
// --restore_from), the node gets back from the hub the alerts it was
// delivered since the backup, each under the cursor it had, so that a
// watcher holding a cursor sees no alert twice and misses none. Until it
// is done, the intake refuses deliveries and watches (UNAVAILABLE); the
// hub keeps new alerts in its outbox meanwhile. Then the next cursor is
// set past the last the node ever reported to the hub, so that no cursor
// is reused even for alerts past the hub's retention window, which are
// counted as lost in the log.
//
// Threading: one thread of its own (Periodic) while recovering, which
// waits on the hub's answers (at most hub.timeout_ms each), retrying every
// kAlertRecoveryInterval. The destructor stops and joins it.
#ifndef DECONFLICTION_SERVER_NODE_ALERT_RECOVERY_H_
#define DECONFLICTION_SERVER_NODE_ALERT_RECOVERY_H_

#include <memory>

#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "base/clock.h"
#include "base/periodic.h"
#include "server/node/alert_intake.h"
#include "server/node/federation.h"
#include "storage/node_database.h"

namespace deconfliction {

inline constexpr absl::Duration kAlertRecoveryInterval = absl::Seconds(1);
// No node hands out cursors this high (2^62: a million alerts a second for
// a hundred thousand years); a hub reporting one is refused.
inline constexpr uint64_t kMaxAlertCursor = uint64_t{1} << 62;

// INVALID_ARGUMENT unless the hub's `page`, asked for after `after`, has a
// last_cursor of at most kMaxAlertCursor and every cursor in (after,
// last_cursor].
absl::Status CheckRecoveredCursors(const v1::RecoverAlertsResponse& page,
                                   uint64_t after);

class AlertRecovery {
 public:
  // Starts recovering when `database` was restored (its alert_recovery()
  // is not empty); does nothing otherwise. Everything must outlive it.
  AlertRecovery(const config::v1::NodeConfig* config, Federation* federation,
                NodeDatabase* database, AlertIntake* intake, Clock clock);

 private:
  // One attempt: every page, then the end of the recovery.
  void Recover();

  const config::v1::NodeConfig* const config_;
  Federation* const federation_;
  NodeDatabase* const database_;
  AlertIntake* const intake_;
  const Clock clock_;
  // Used by the periodic thread only.
  bool failed_before_ = false;
  std::unique_ptr<Periodic> periodic_;  // last: stops first
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_ALERT_RECOVERY_H_
