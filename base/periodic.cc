#include "base/periodic.h"

#include <utility>

namespace deconfliction {

Periodic::Periodic(absl::Duration interval, std::function<void()> task,
                   AtStop at_stop)
    : interval_(interval),
      task_(std::move(task)),
      at_stop_(at_stop),
      thread_([this] { Run(); }) {}

Periodic::~Periodic() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void Periodic::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(
          absl::Condition(
              +[](bool* stopping) { return *stopping; }, &stopping_),
          interval_);
      if (stopping_) break;
    }
    task_();
  }
  if (at_stop_ == AtStop::kRunOnceMore) task_();
}

}  // namespace deconfliction
