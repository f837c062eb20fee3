#include "server/alert_delivery.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/grpc_status.h"
#include "server/match_alerts.h"

namespace deconfliction {
namespace {

constexpr size_t kDeliveryBatch = 100;
constexpr absl::Duration kCallDeadline = absl::Seconds(10);
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(250);
constexpr absl::Duration kMaxBackoff = absl::Seconds(10);

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
}

}  // namespace

AlertDelivery::AlertDelivery(const config::v1::HubConfig* config,
                             HubStore* store, FanOut* fan_out, Clock clock)
    : config_(config), store_(store), fan_out_(fan_out), clock_(clock) {
  for (const auto& node : config->nodes()) {
    auto worker = std::make_unique<Worker>();
    worker->agency = node.agency_id();
    workers_[node.agency_id()] = std::move(worker);
  }
  for (auto& [agency, worker] : workers_) {
    Worker* w = worker.get();
    w->thread = std::thread([this, w] { Run(w); });
  }
}

AlertDelivery::~AlertDelivery() {
  for (auto& [agency, worker] : workers_) {
    absl::MutexLock lock(&worker->mu);
    worker->stopping = true;
  }
  for (auto& [agency, worker] : workers_) worker->thread.join();
}

void AlertDelivery::Notify(const std::string& agency) {
  auto it = workers_.find(agency);
  if (it == workers_.end()) return;
  absl::MutexLock lock(&it->second->mu);
  it->second->woken = true;
}

void AlertDelivery::Run(Worker* worker) {
  absl::Duration backoff = kFirstBackoff;
  bool failing = false;
  while (true) {
    {
      absl::MutexLock lock(&worker->mu);
      auto ready = [worker]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(worker->mu) {
        return worker->stopping || worker->woken;
      };
      if (failing) {
        // A failing node is retried on its backoff, not on every new alert.
        worker->mu.AwaitWithTimeout(
            absl::Condition(
                +[](bool* stopping) { return *stopping; }, &worker->stopping),
            backoff);
      } else {
        worker->mu.Await(absl::Condition(&ready));
      }
      if (worker->stopping) return;
      worker->woken = false;
    }
    const absl::Duration delay =
        absl::Milliseconds(config_->limits().alert_delivery_delay_ms());
    if (delay > absl::ZeroDuration()) {
      absl::MutexLock lock(&worker->mu);
      worker->mu.AwaitWithTimeout(
          absl::Condition(
              +[](bool* stopping) { return *stopping; }, &worker->stopping),
          delay);
      if (worker->stopping) return;
    }
    absl::Status status = Recheck(worker->agency);
    bool more = status.ok();
    while (status.ok() && more) status = Deliver(worker->agency, &more);
    failing = !status.ok();
    backoff = failing ? std::min(backoff * 2, kMaxBackoff) : kFirstBackoff;
  }
}

absl::Status AlertDelivery::Recheck(const std::string& agency) {
  v1::NodeFederation::Stub* stub = fan_out_->StubFor(agency);
  while (true) {
    auto pending = store_->PendingRechecks(agency, 1);
    if (!pending.ok()) return pending.status();
    if (pending->empty()) return absl::OkStatus();
    const storage::v1::RecheckRecord& recheck = (*pending)[0].record;
    v1::TokenLookupRequest request;
    *request.mutable_queries() = recheck.queries();
    v1::TokenLookupResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = stub->LookupTokens(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    if (response.answers_size() != recheck.queries_size()) {
      return absl::InternalError("recheck answer has the wrong size");
    }
    MatchRequest match{v1::LOOKUP_PURPOSE_REGISTER, recheck.requester(),
                       recheck.requester_contact(), clock_()};
    std::vector<storage::v1::OutboxRecord> alerts;
    for (int i = 0; i < response.answers_size(); ++i) {
      for (const v1::TokenHit& hit : response.answers(i).hits()) {
        for (auto& alert : AlertsForHit(match, recheck.queries(i), agency, hit,
                                        config_->policy())) {
          alerts.push_back(std::move(alert));
        }
      }
    }
    if (absl::Status s = store_->CompleteRecheck((*pending)[0].key, alerts);
        !s.ok()) {
      return s;
    }
    for (const auto& alert : alerts) {
      if (alert.recipient() != agency) Notify(alert.recipient());
    }
  }
}

absl::Status AlertDelivery::Deliver(const std::string& agency, bool* more) {
  auto pending = store_->PendingAlerts(agency, kDeliveryBatch);
  if (!pending.ok()) return pending.status();
  *more = pending->size() == kDeliveryBatch;
  if (pending->empty()) return absl::OkStatus();
  v1::DeliverAlertsRequest request;
  std::vector<std::string> keys;
  for (const auto& queued : *pending) {
    *request.add_alerts() = queued.record.alert();
    keys.push_back(queued.key);
  }
  v1::DeliverAlertsResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status status =
      fan_out_->StubFor(agency)->DeliverAlerts(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return store_->RemoveAlerts(keys);
}

}  // namespace deconfliction
