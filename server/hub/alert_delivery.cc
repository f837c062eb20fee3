#include "server/hub/alert_delivery.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/federation_checks.h"
#include "base/log.h"
#include "server/hub/match_alerts.h"

namespace deconfliction {
namespace {

constexpr size_t kDeliveryBatch = 100;
// Bytes of alerts per delivery: well under the smallest message a node may
// accept (64 KiB); every field of an alert is bounded
// (api/federation_checks.h), so one alert always fits.
constexpr size_t kMaxDeliveryBytes = size_t{48} << 10;
// Refusals of one alert, in a row, before it is set aside.
constexpr int kMaxRefusals = 3;

// A failure that will not go away by trying again: the node checked the
// alert and refused it, or it cannot take a message that large.
bool IsRefusal(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
         (status.code() == absl::StatusCode::kResourceExhausted &&
          absl::StrContains(status.message(), "larger than max"));
}
constexpr absl::Duration kCallTimeout = absl::Seconds(10);
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(250);
constexpr absl::Duration kMaxBackoff = absl::Seconds(10);

}  // namespace

AlertDelivery::AlertDelivery(const HubSettingsInForce* settings,
                             AlertOutbox* outbox, NodeLinks* nodes,
                             WorkQueue* storage, MetricsRegistry* metrics,
                             Clock clock)
    : settings_(settings),
      outbox_(outbox),
      nodes_(nodes),
      storage_(storage),
      clock_(std::move(clock)),
      delivered_(metrics->AddCounterFamily(
          "deconfliction_hub_alerts_delivered_total",
          "Alerts each agency's node stored (and the hub then deleted from "
          "its outbox).",
          {"agency"})),
      set_aside_(metrics->AddCounterFamily(
          "deconfliction_hub_alerts_set_aside_total",
          "Alerts set aside after their node refused them repeatedly (they "
          "stay in the hub's database; DeliveryStatus.set_aside).",
          {"agency"})) {
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& agency : nodes_->agencies()) {
      agencies_[agency].backoff = kFirstBackoff;
    }
  }
  scheduler_ = std::thread([this] { Schedule(); });
}

AlertDelivery::~AlertDelivery() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  scheduler_.join();
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* in_flight) { return *in_flight == 0; }, &in_flight_));
}

void AlertDelivery::Notify(const std::string& agency) {
  const absl::Duration delay = absl::Milliseconds(
      settings_->Get()->config.limits().alert_delivery_delay_ms());
  absl::MutexLock lock(&mu_);
  auto [it, added] = agencies_.try_emplace(agency);
  if (added) {
    // An agency added by a reload: its first pass starts now.
    it->second.backoff = kFirstBackoff;
    return;
  }
  if (it->second.wanted) return;
  it->second.wanted = true;
  it->second.due = std::max(it->second.due, clock_() + delay);
}

void AlertDelivery::Schedule() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time now = clock_();
    absl::Time next = absl::InfiniteFuture();
    std::vector<std::string> start;
    for (auto& [agency, state] : agencies_) {
      if (!state.wanted || state.in_flight) continue;
      if (state.due <= now) {
        state.wanted = false;
        state.in_flight = true;
        ++in_flight_;
        start.push_back(agency);
      } else {
        next = std::min(next, state.due);
      }
    }
    if (!start.empty()) {
      mu_.Unlock();
      for (const std::string& agency : start) {
        storage_->RunOrInline([this, agency] { NextRecheck(agency); });
      }
      mu_.Lock();
      continue;
    }
    // Woken by stopping, or by an agency due now or due before `next` (set
    // by Notify or a failed pass while waiting); else at `next`. The clock
    // is re-read, so an injected clock only delays.
    wake_by_ = next;
    mu_.AwaitWithTimeout(
        absl::Condition(
            +[](AlertDelivery* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
              if (self->stopping_) return true;
              for (const auto& [agency, state] : self->agencies_) {
                if (state.wanted && !state.in_flight &&
                    (state.due < self->wake_by_ ||
                     state.due <= self->clock_())) {
                  return true;
                }
              }
              return false;
            },
            this),
        std::min(next - now, kMaxBackoff));
  }
}

void AlertDelivery::NextRecheck(const std::string& agency) {
  auto pending = outbox_->PendingRechecks(agency, 1);
  if (!pending.ok()) return PassDone(agency, pending.status());
  if (pending->empty()) return NextDelivery(agency);
  auto recheck =
      std::make_shared<AlertOutbox::Queued<storage::v1::RecheckRecord>>(
          std::move((*pending)[0]));
  auto request = std::make_shared<v1::TokenLookupRequest>();
  *request->mutable_queries() = recheck->record.queries();
  nodes_->LookupTokens(
      agency, request, clock_() + kCallTimeout,
      [this, agency, recheck](absl::StatusOr<v1::TokenLookupResponse> answer) {
        storage_->RunOrInline([this, agency, recheck,
                               answer = std::move(answer)] {
          if (!answer.ok()) return PassDone(agency, answer.status());
          if (absl::Status s = CheckTokenLookupResponse(
                  *answer, recheck->record.queries_size());
              !s.ok()) {
            return PassDone(agency,
                            absl::InternalError(absl::StrCat(
                                "recheck answer refused: ", s.message())));
          }
          const MatchRequest match{
              v1::LOOKUP_PURPOSE_REGISTER, recheck->record.requester(),
              recheck->record.requester_contact(), clock_(),
              recheck->record.requester_sharing()};
          const std::shared_ptr<const HubSettings> settings = settings_->Get();
          const config::v1::SharingPolicy& policy = settings->config.policy();
          std::vector<storage::v1::OutboxRecord> alerts;
          for (int i = 0; i < answer->answers_size(); ++i) {
            for (const v1::TokenHit& hit : answer->answers(i).hits()) {
              for (auto& alert : AlertsForHit(match, recheck->record.queries(i),
                                              agency, hit, policy)) {
                alerts.push_back(std::move(alert));
              }
            }
          }
          if (absl::Status s = outbox_->CompleteRecheck(recheck->key, alerts);
              !s.ok()) {
            return PassDone(agency, s);
          }
          for (const auto& alert : alerts) {
            if (alert.recipient() != agency) Notify(alert.recipient());
          }
          NextRecheck(agency);
        });
      });
}

void AlertDelivery::NextDelivery(const std::string& agency) {
  size_t limit = kDeliveryBatch;
  {
    absl::MutexLock lock(&mu_);
    if (agencies_[agency].one_at_a_time) limit = 1;
  }
  auto pending = outbox_->PendingAlerts(agency, limit);
  if (!pending.ok()) return PassDone(agency, pending.status());
  if (pending->empty()) return PassDone(agency, absl::OkStatus());
  bool more = pending->size() == limit;
  v1::DeliverAlertsRequest request;
  auto batch = std::make_shared<
      std::vector<AlertOutbox::Queued<storage::v1::OutboxRecord>>>();
  size_t bytes = 0;
  for (auto& queued : *pending) {
    const size_t size = queued.record.alert().ByteSizeLong();
    if (!batch->empty() && bytes + size > kMaxDeliveryBytes) {
      more = true;
      break;
    }
    bytes += size;
    *request.add_alerts() = queued.record.alert();
    batch->push_back(std::move(queued));
  }
  nodes_->DeliverAlerts(
      agency, std::move(request), clock_() + kCallTimeout,
      [this, agency, batch,
       more](absl::StatusOr<v1::DeliverAlertsResponse> delivered) {
        storage_->RunOrInline([this, agency, batch, more,
                               delivered = std::move(delivered)] {
          if (IsRefusal(delivered.status())) {
            std::vector<std::string> keys;
            keys.reserve(batch->size());
            for (const auto& queued : *batch) keys.push_back(queued.key);
            return Refused(agency, keys, delivered.status());
          }
          if (!delivered.ok()) return PassDone(agency, delivered.status());
          if (absl::Status s = outbox_->MarkDelivered(
                  *batch,
                  {delivered->cursors().begin(), delivered->cursors().end()},
                  clock_());
              !s.ok()) {
            return PassDone(agency, s);
          }
          delivered_->WithLabels({agency}).Increment(batch->size());
          {
            absl::MutexLock lock(&mu_);
            Agency& state = agencies_[agency];
            state.one_at_a_time = false;
            state.refusals = 0;
          }
          if (more) return NextDelivery(agency);
          PassDone(agency, absl::OkStatus());
        });
      });
}

void AlertDelivery::Refused(const std::string& agency,
                            const std::vector<std::string>& keys,
                            const absl::Status& status) {
  bool set_aside = false;
  {
    absl::MutexLock lock(&mu_);
    Agency& state = agencies_[agency];
    if (keys.size() > 1) {
      state.one_at_a_time = true;
    } else {
      state.refusals = state.refused_key == keys[0] ? state.refusals + 1 : 1;
      state.refused_key = keys[0];
      set_aside = state.refusals >= kMaxRefusals;
      if (set_aside) {
        state.refusals = 0;
        state.refused_key.clear();
      }
    }
  }
  LogWarning("delivery", "a node refused alerts",
             {{"agency", agency},
              {"alerts", keys.size()},
              {"reason", std::string(status.message().substr(0, 200))}});
  if (!set_aside) return PassDone(agency, status);
  const std::string reason =
      absl::StrCat("refused ", kMaxRefusals, " times: ", status.message());
  if (absl::Status s = outbox_->SetAside(keys[0], reason, clock_()); !s.ok()) {
    return PassDone(agency, s);
  }
  set_aside_->WithLabels({agency}).Increment();
  LogError("delivery",
           "an alert was set aside after repeated refusals by its node; it "
           "stays in the hub's database and is counted in "
           "DeliveryStatus.set_aside",
           {{"agency", agency}, {"refusals", kMaxRefusals}});
  // The rest keep flowing, in this pass.
  NextDelivery(agency);
}

void AlertDelivery::PassDone(const std::string& agency,
                             const absl::Status& status) {
  const std::vector<std::string> configured = nodes_->agencies();
  const bool removed = std::find(configured.begin(), configured.end(),
                                 agency) == configured.end();
  absl::MutexLock lock(&mu_);
  Agency& state = agencies_[agency];
  state.in_flight = false;
  --in_flight_;
  if (status.ok() || removed) {
    // An agency a reload removed is not retried: what waits for it stays in
    // the outbox until a reload adds it again (Notify).
    state.backoff = kFirstBackoff;
    return;
  }
  // A failing node is retried on its backoff, not on every new alert.
  state.wanted = true;
  state.due = clock_() + state.backoff;
  state.backoff = std::min(state.backoff * 2, kMaxBackoff);
}

}  // namespace deconfliction
