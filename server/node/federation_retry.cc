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
      periodic_(kFederationRetryInterval, [this] { SendOldest(); }) {}

void FederationRetry::SendOldest() {
  auto pending = queue_->Oldest(kRetryBatch);
  if (!pending.ok()) return;
  for (auto& [key, lookup] : *pending) {
    std::promise<bool> taken;
    federation_->Lookup(
        lookup.request(),
        clock_() + absl::Milliseconds(config_->hub().timeout_ms()),
        [&taken](const absl::StatusOr<v1::FederatedLookupResponse>& answer) {
          taken.set_value(answer.ok());
        });
    // The hub still does not answer: try again next interval.
    if (!taken.get_future().get()) return;
    queue_->Remove(key).IgnoreError();
  }
}

}  // namespace deconfliction
