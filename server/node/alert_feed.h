// AlertFeed: tells the node's Watch streams what happened: new alerts were
// stored (kStored), a second passed (kTick: time for a heartbeat), or the
// node is stopping (kClosing). Listeners only learn that something changed;
// they read the alert log themselves from their own cursor, so a wake-up
// can never lose or duplicate an alert.
//
// Thread safety: all methods may be called from any thread. Listeners run
// under the feed's lock, one after another, on the thread that publishes:
// a listener must not call the feed, and Publish returns only when every
// listener has run. A Watch stream's listener reads at most one page of
// the alert log (RocksDB) when its watcher is idle and alerts were stored,
// so a publish costs one such read per idle watcher. After Unsubscribe
// returns, the listener is not running and never will.
#ifndef DECONFLICTION_SERVER_NODE_ALERT_FEED_H_
#define DECONFLICTION_SERVER_NODE_ALERT_FEED_H_

#include <functional>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace deconfliction {

class AlertFeed {
 public:
  enum class Event { kStored, kTick, kClosing };
  using Listener = std::function<void(Event)>;

  // Subscribes `listener` under the key `owner` (the watcher itself, so
  // that Unsubscribe needs nothing Subscribe returned). A feed already
  // closed calls it with kClosing, once subscribed, before returning.
  void Subscribe(const void* owner, Listener listener) {
    absl::MutexLock lock(&mu_);
    Listener& subscribed = listeners_[owner] = std::move(listener);
    if (closed_) subscribed(Event::kClosing);
  }
  void Unsubscribe(const void* owner) {
    absl::MutexLock lock(&mu_);
    listeners_.erase(owner);
  }
  void Publish(Event event = Event::kStored) {
    absl::MutexLock lock(&mu_);
    for (auto& [id, listener] : listeners_) listener(event);
  }

  // Publishes kClosing, and gives it to every later subscriber too.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (auto& [id, listener] : listeners_) listener(Event::kClosing);
  }

 private:
  absl::Mutex mu_;
  std::map<const void*, Listener> listeners_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_ALERT_FEED_H_
