#include "server/node/federation_retry.h"

#include <future>
#include <utility>

namespace deconfliction {
namespace {

constexpr size_t kRetryBatch = 10;

}  // namespace

FederationRetry::FederationRetry(const config::v1::NodeConfig* config,
                                 Federation* federation, FederationQueue* queue,
                                 Clock clock)
    : config_(config),
      federation_(federation),
      queue_(queue),
      clock_(std::move(clock)),
      thread_([this] { Run(); }) {}

FederationRetry::~FederationRetry() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void FederationRetry::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(
          absl::Condition(
              +[](bool* stopping) { return *stopping; }, &stopping_),
          kFederationRetryInterval);
      if (stopping_) return;
    }
    auto pending = queue_->Oldest(kRetryBatch);
    if (!pending.ok()) continue;
    for (auto& [key, lookup] : *pending) {
      std::promise<bool> taken;
      federation_->Lookup(
          lookup.request(),
          clock_() + absl::Milliseconds(config_->hub().timeout_ms()),
          [&taken](const absl::StatusOr<v1::FederatedLookupResponse>& answer) {
            taken.set_value(answer.ok());
          });
      // The hub still does not answer: try again next interval.
      if (!taken.get_future().get()) break;
      queue_->Remove(key).IgnoreError();
    }
  }
}

}  // namespace deconfliction
