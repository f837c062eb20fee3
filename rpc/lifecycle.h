// What the federation's server programs do around serving: stop signals,
// and announcing the bound port.
#ifndef DECONFLICTION_RPC_LIFECYCLE_H_
#define DECONFLICTION_RPC_LIFECYCLE_H_

#include <signal.h>

#include <string>

#include "absl/status/status.h"

namespace deconfliction {

// Blocks SIGTERM and SIGINT in the calling thread and in every thread it
// starts afterwards; call first thing in main, before any server starts.
sigset_t BlockStopSignals();

// Waits for SIGTERM or SIGINT (blocked by BlockStopSignals); returns its
// name.
std::string AwaitStopSignal(const sigset_t& signals);

// Writes `port` and a newline to `path` atomically (a reader never sees a
// partial file). Does nothing for an empty path.
absl::Status WritePortFile(const std::string& path, int port);

}  // namespace deconfliction

#endif  // DECONFLICTION_RPC_LIFECYCLE_H_
