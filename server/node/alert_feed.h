// AlertFeed: wakes the node's Watch streams when new alerts are stored.
// Listeners only learn that something changed; they read the alert log
// themselves from their own cursor, so a wake-up can never lose or
// duplicate an alert.
//
// Thread safety: all methods may be called from any thread. Listeners run
// under the feed's lock, one after another, on the thread that publishes:
// a listener must not call the feed, and Publish returns only when every
// listener has run. A Watch stream's listener reads at most one page of
// the alert log (RocksDB) when its watcher is idle, so a publish costs one
// such read per idle watcher. After Unsubscribe returns, the listener is
// not running and never will.
#ifndef DECONFLICTION_SERVER_NODE_ALERT_FEED_H_
#define DECONFLICTION_SERVER_NODE_ALERT_FEED_H_

#include <cstdint>
#include <functional>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace deconfliction {

class AlertFeed {
 public:
  using Listener = std::function<void()>;

  uint64_t Subscribe(Listener listener) {
    absl::MutexLock lock(&mu_);
    listeners_[next_id_] = std::move(listener);
    return next_id_++;
  }
  void Unsubscribe(uint64_t id) {
    absl::MutexLock lock(&mu_);
    listeners_.erase(id);
  }
  void Publish() {
    absl::MutexLock lock(&mu_);
    for (auto& [id, listener] : listeners_) listener();
  }

 private:
  absl::Mutex mu_;
  std::map<uint64_t, Listener> listeners_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_ALERT_FEED_H_
