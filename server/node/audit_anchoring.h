// AuditAnchoring: sends the node's audit chain head (AuditLog::SyncedHead)
// to the hub every kAuditAnchorInterval when it has moved, and once more
// when the node stops. The hub records each head in its own trail, so that
// records cut from the end of the node's trail show against it
// (deconflict-audit --anchors; storage/audit_log.h). Only records synced to
// disk are anchored; a head the hub did not take is sent again next time.
//
// Threading: one thread of its own (Periodic), which waits on the hub's
// answer (at most hub.timeout_ms). The destructor stops and joins it.
#ifndef DECONFLICTION_SERVER_NODE_AUDIT_ANCHORING_H_
#define DECONFLICTION_SERVER_NODE_AUDIT_ANCHORING_H_

#include <cstdint>

#include "absl/time/time.h"
#include "base/clock.h"
#include "base/periodic.h"
#include "server/node/federation.h"
#include "storage/audit_log.h"

namespace deconfliction {

inline constexpr absl::Duration kAuditAnchorInterval = absl::Seconds(5);

class AuditAnchoring {
 public:
  // Everything must outlive the anchoring. `timeout` bounds each call.
  AuditAnchoring(const AuditLog* audit, Federation* federation,
                 absl::Duration timeout, Clock clock,
                 absl::Duration interval = kAuditAnchorInterval);

 private:
  // Sends the synced head if the hub does not have it yet.
  void SendHead();

  const AuditLog* const audit_;
  Federation* const federation_;
  const absl::Duration timeout_;
  const Clock clock_;
  uint64_t anchored_seq_ = 0;  // only on the periodic's thread
  bool failing_ = false;       // only on the periodic's thread
  Periodic periodic_;          // last: stops first
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_AUDIT_ANCHORING_H_
