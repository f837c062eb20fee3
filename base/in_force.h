// InForce<T>: the settings a server works with, which a configuration
// reload (SIGHUP) may replace while it serves. Readers take the snapshot in
// force and keep it for the whole of one piece of work (a lookup, a
// delivery pass), so no piece of work sees half of one configuration and
// half of the next; a replaced snapshot lives until its last reader lets
// go of it.
//
// Thread safety: all methods may be called concurrently.
#ifndef DECONFLICTION_BASE_IN_FORCE_H_
#define DECONFLICTION_BASE_IN_FORCE_H_

#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace deconfliction {

template <typename T>
class InForce {
 public:
  explicit InForce(T initial)
      : current_(std::make_shared<const T>(std::move(initial))) {}

  std::shared_ptr<const T> Get() const {
    absl::MutexLock lock(&mu_);
    return current_;
  }

  void Replace(T next) {
    auto replacement = std::make_shared<const T>(std::move(next));
    absl::MutexLock lock(&mu_);
    current_.swap(replacement);
  }  // the old snapshot is released outside the lock

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const T> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace deconfliction

#endif  // DECONFLICTION_BASE_IN_FORCE_H_
