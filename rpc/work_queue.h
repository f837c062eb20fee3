// WorkQueue: a fixed pool of threads running blocking work (storage, key
// derivation) for the gRPC callback handlers, whose reactions must stay
// quick. Its queue is bounded: a full queue refuses new work at once rather
// than letting latency grow without limit.
//
// Thread safety: TrySubmit may be called from any thread. The destructor
// stops admitting work, runs what is queued, and joins the threads.
#ifndef DECONFLICTION_RPC_WORK_QUEUE_H_
#define DECONFLICTION_RPC_WORK_QUEUE_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace deconfliction {

class WorkQueue {
 public:
  WorkQueue(size_t threads, size_t max_queued);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `task`; false (and `task` dropped) when `max_queued` tasks are
  // already waiting or the queue is stopping.
  bool TrySubmit(std::function<void()> task);

  // Queues `task`, or runs it on the calling thread when the queue is full
  // or stopping: for work that must never be dropped (an audit record, a
  // completion).
  void RunOrInline(std::function<void()> task);

 private:
  void Run();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_RPC_WORK_QUEUE_H_
