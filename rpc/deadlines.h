// The deadline rule for a call made on behalf of another call (a node asking
// the hub, the hub asking the nodes): it ends early enough for the caller
// to merge and reply within its own deadline.
#ifndef DECONFLICTION_RPC_DEADLINES_H_
#define DECONFLICTION_RPC_DEADLINES_H_

#include <algorithm>

#include "absl/time/time.h"

namespace deconfliction {

// How much of the caller's time is kept back to merge and reply.
inline constexpr absl::Duration kReplyMargin = absl::Milliseconds(100);

// The caller's deadline less kReplyMargin, and never later than `now +
// limit` (the configured timeout of that hop).
inline absl::Time HopDeadline(absl::Time caller_deadline, absl::Time now,
                              absl::Duration limit) {
  return std::min(caller_deadline - kReplyMargin, now + limit);
}

}  // namespace deconfliction

#endif  // DECONFLICTION_RPC_DEADLINES_H_
