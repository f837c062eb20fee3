#include "server/node/federation_retry.h"

#include <algorithm>
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
  if (clock_() < resume_at_) return;
  for (;;) {
    auto pending = queue_->Oldest(kRetryBatch);
    if (!pending.ok() || pending->empty()) return;
    for (auto& [key, lookup] : *pending) {
      std::promise<absl::Status> answered;
      federation_->Lookup(
          lookup.request(),
          clock_() + absl::Milliseconds(config_->hub().timeout_ms()),
          [&answered](
              const absl::StatusOr<v1::FederatedLookupResponse>& answer) {
            answered.set_value(answer.status());
          });
      const absl::Status status = answered.get_future().get();
      if (!status.ok()) return HoldAfter(status);
      backoff_ = kFederationRetryInterval;
      queue_->Remove(key).IgnoreError();
    }
  }
}

void FederationRetry::HoldAfter(const absl::Status& status) {
  const absl::Time now = clock_();
  if (absl::IsResourceExhausted(status)) {
    // Over the agency's cap: its window is the calendar minute.
    const int64_t minute = absl::ToUnixSeconds(now) / 60;
    resume_at_ = absl::FromUnixSeconds((minute + 1) * 60);
    return;
  }
  resume_at_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, kFederationRetryMaxBackoff);
}

}  // namespace deconfliction
