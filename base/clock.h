// Clock: the current time as a function, injected wherever time decides an
// outcome (expiry, query caps, ages, alert ids) so that tests control it.
// Production code passes absl::Now.
#ifndef DECONFLICTION_BASE_CLOCK_H_
#define DECONFLICTION_BASE_CLOCK_H_

#include <functional>

#include "absl/time/time.h"

namespace deconfliction {

using Clock = std::function<absl::Time()>;

}  // namespace deconfliction

#endif  // DECONFLICTION_BASE_CLOCK_H_
