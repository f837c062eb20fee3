// Periodic: runs a task every `interval` on a thread of its own, from
// construction until destruction. The destructor wakes the thread, waits for
// a running task to finish, runs the task once more when asked to
// (AtStop::kRunOnceMore: a final flush), and joins.
//
// The task must not destroy its Periodic. Declare a Periodic after every
// member its task uses, so that it stops first.
#ifndef DECONFLICTION_BASE_PERIODIC_H_
#define DECONFLICTION_BASE_PERIODIC_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace deconfliction {

class Periodic {
 public:
  enum class AtStop { kSkip, kRunOnceMore };

  Periodic(absl::Duration interval, std::function<void()> task,
           AtStop at_stop = AtStop::kSkip);
  ~Periodic();
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

 private:
  void Run();

  const absl::Duration interval_;
  const std::function<void()> task_;
  const AtStop at_stop_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: started once the rest is set
};

}  // namespace deconfliction

#endif  // DECONFLICTION_BASE_PERIODIC_H_
