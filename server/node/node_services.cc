#include "server/node/node_services.h"

#include <chrono>
#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/timestamps.h"
#include "rpc/grpc_status.h"

namespace deconfliction {
namespace {

// Why a call admitted earlier should not run now, if it should not.
absl::Status StillWanted(grpc::CallbackServerContext* context) {
  if (context->IsCancelled()) return absl::CancelledError("call cancelled");
  if (context->deadline() <= std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError(
        "deadline passed while the request waited for a worker");
  }
  return absl::OkStatus();
}

grpc::Status Busy() {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "node is at its limit of queued requests; retry with "
                      "backoff");
}

// Runs `work` on `queue`; `work` is given a callback that finishes the call
// with its absl::StatusOr<Response> (at once, or later from another thread).
template <typename Response, typename Work>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* context,
                                   WorkQueue* queue, Response* response,
                                   Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  bool admitted = queue->TrySubmit(
      [context, reactor, response, work = std::move(work)]() mutable {
        absl::Status wanted = StillWanted(context);
        if (!wanted.ok()) {
          reactor->Finish(ToGrpcStatus(wanted));
          return;
        }
        work(FinishWith(reactor, response));
      });
  if (!admitted) reactor->Finish(Busy());
  return reactor;
}

// A CheckBulk stream refused before it starts.
class RefusedBulk final
    : public grpc::ServerBidiReactor<v1::CheckRequest, v1::CheckResponse> {
 public:
  explicit RefusedBulk(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

absl::Time Deadline(grpc::CallbackServerContext* context) {
  return absl::FromChrono(context->deadline());
}

}  // namespace

grpc::ServerUnaryReactor* RegistryService::Register(
    grpc::CallbackServerContext* context, const v1::RegisterRequest* request,
    v1::RegisterResponse* response) {
  absl::StatusOr<FederationIdentity> caller =
      PeerIdentity(*context->auth_context());
  if (!caller.ok()) return FinishNow(context, caller.status());
  return RunUnary(context, queue_, response,
                  [this, context, request, caller = *std::move(caller)](
                      AgencyNode::Done<v1::RegisterResponse> done) {
                    node_->Register(*request, caller, Deadline(context),
                                    std::move(done));
                  });
}

grpc::ServerUnaryReactor* RegistryService::CloseCase(
    grpc::CallbackServerContext* context, const v1::CloseCaseRequest* request,
    v1::CloseCaseResponse* response) {
  return RunUnary(context, queue_, response, [this, request](auto done) {
    done(node_->CloseCase(*request));
  });
}

grpc::ServerUnaryReactor* RegistryService::GetCase(
    grpc::CallbackServerContext* context, const v1::GetCaseRequest* request,
    v1::Case* response) {
  return RunUnary(context, queue_, response, [this, request](auto done) {
    done(node_->GetCase(*request));
  });
}

grpc::ServerUnaryReactor* RegistryService::ListCases(
    grpc::CallbackServerContext* context, const v1::ListCasesRequest* request,
    v1::ListCasesResponse* response) {
  return RunUnary(context, queue_, response, [this, request](auto done) {
    done(node_->ListCases(*request));
  });
}

grpc::ServerUnaryReactor* DeconflictionService::Check(
    grpc::CallbackServerContext* context, const v1::CheckRequest* request,
    v1::CheckResponse* response) {
  absl::StatusOr<FederationIdentity> caller =
      PeerIdentity(*context->auth_context());
  if (!caller.ok()) return FinishNow(context, caller.status());
  return RunUnary(
      context, queue_, response,
      [this, context, request,
       caller = *std::move(caller)](AgencyNode::Done<v1::CheckResponse> done) {
        node_->Check(*request, 0, caller, Deadline(context), std::move(done));
      });
}

// One bulk job: reads a chunk, answers it on the bulk queue, writes the
// answer, and only then reads the next chunk, so a stream holds at most one
// chunk and one answer in memory and a slow reader slows the writer.
class DeconflictionService::BulkReactor final
    : public grpc::ServerBidiReactor<v1::CheckRequest, v1::CheckResponse> {
 public:
  BulkReactor(DeconflictionService* service,
              grpc::CallbackServerContext* context, FederationIdentity caller)
      : service_(service), context_(context), caller_(std::move(caller)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client has sent its last chunk
      Finish(grpc::Status::OK);
      return;
    }
    bool admitted = service_->bulk_queue_->TrySubmit([this] {
      absl::Status wanted = StillWanted(context_);
      if (!wanted.ok()) {
        Finish(ToGrpcStatus(wanted));
        return;
      }
      service_->node_->Check(request_, next_index_, caller_, Deadline(context_),
                             [this](absl::StatusOr<v1::CheckResponse> answer) {
                               if (!answer.ok()) {
                                 Finish(ToGrpcStatus(answer.status()));
                                 return;
                               }
                               next_index_ += request_.identifiers_size();
                               response_ = *std::move(answer);
                               StartWrite(&response_);
                             });
    });
    if (!admitted) Finish(Busy());
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override {
    service_->open_bulk_streams_.fetch_sub(1);
    delete this;
  }

 private:
  DeconflictionService* const service_;
  grpc::CallbackServerContext* const context_;
  const FederationIdentity caller_;
  v1::CheckRequest request_;
  v1::CheckResponse response_;
  uint64_t next_index_ = 0;
};

grpc::ServerBidiReactor<v1::CheckRequest, v1::CheckResponse>*
DeconflictionService::CheckBulk(grpc::CallbackServerContext* context) {
  if (open_bulk_streams_.fetch_add(1) >= max_bulk_streams_) {
    open_bulk_streams_.fetch_sub(1);
    return new RefusedBulk(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("node is at its limit of ", max_bulk_streams_,
                     " concurrent CheckBulk streams; retry later")));
  }
  absl::StatusOr<FederationIdentity> caller =
      PeerIdentity(*context->auth_context());
  if (!caller.ok()) {
    open_bulk_streams_.fetch_sub(1);
    return new RefusedBulk(ToGrpcStatus(caller.status()));
  }
  return new BulkReactor(this, context, *std::move(caller));
}

grpc::ServerUnaryReactor* NodeFederationService::LookupTokens(
    grpc::CallbackServerContext* context, const v1::TokenLookupRequest* request,
    v1::TokenLookupResponse* response) {
  absl::StatusOr<FederationIdentity> caller =
      PeerIdentity(*context->auth_context());
  if (!caller.ok()) return FinishNow(context, caller.status());
  return RunUnary(context, queue_, response,
                  [this, request, caller = *std::move(caller)](auto done) {
                    done(lookup_->Answer(*request, caller));
                  });
}

grpc::ServerUnaryReactor* NodeFederationService::DeliverAlerts(
    grpc::CallbackServerContext* context,
    const v1::DeliverAlertsRequest* request,
    v1::DeliverAlertsResponse* response) {
  return RunUnary(context, queue_, response, [this, request](auto done) {
    done(alerts_->Deliver(*request));
  });
}

class AlertsService::WatchReactor final
    : public grpc::ServerWriteReactor<v1::Alert> {
 public:
  // A stream from `after`, with a heartbeat after `heartbeat` of silence
  // (none when zero); or, when `refusal` is not OK, a stream that ends at
  // once with it.
  WatchReactor(AlertIntake* alerts, uint64_t after, absl::Duration heartbeat,
               const grpc::Status& refusal)
      : alerts_(alerts), heartbeat_(heartbeat), after_(after) {
    if (!refusal.ok()) {
      absl::MutexLock lock(&mu_);
      FinishLocked(refusal);
      return;
    }
    alerts_->feed().Subscribe(
        this, [this](AlertFeed::Event event) { OnFeed(event); });
    absl::MutexLock lock(&mu_);
    NextLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (!ok) {
      FinishLocked(
          grpc::Status(grpc::StatusCode::CANCELLED, "watcher went away"));
      return;
    }
    if (writing_heartbeat_) {
      writing_heartbeat_ = false;
    } else {
      after_ = page_.front().cursor();
      page_.pop_front();
    }
    writing_ = false;
    last_sent_ = absl::Now();
    NextLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
  }

  void OnDone() override {
    alerts_->feed().Unsubscribe(this);
    delete this;
  }

 private:
  void OnFeed(AlertFeed::Event event) {
    absl::MutexLock lock(&mu_);
    switch (event) {
      case AlertFeed::Event::kStored:
        NextLocked();
        return;
      case AlertFeed::Event::kTick:
        HeartbeatLocked();
        return;
      case AlertFeed::Event::kClosing:
        FinishLocked(grpc::Status(
            grpc::StatusCode::UNAVAILABLE,
            absl::StrCat("the node is stopping; watch again after cursor ",
                         after_)));
        return;
    }
  }

  // Writes the next alert after the cursor, reading a page from the log when
  // the current one is used up.
  void NextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_) return;
    if (page_.empty()) {
      absl::StatusOr<std::vector<v1::Alert>> page =
          alerts_->After(after_, kPage);
      if (!page.ok()) {
        FinishLocked(ToGrpcStatus(page.status()));
        return;
      }
      page_.assign(page->begin(), page->end());
      if (page_.empty()) return;  // caught up: wait for the feed
    }
    writing_ = true;
    StartWrite(&page_.front());
  }

  // A heartbeat, when one is asked for and the stream has been silent for
  // its interval.
  void HeartbeatLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const absl::Time now = absl::Now();
    if (heartbeat_ == absl::ZeroDuration() || writing_ || finished_ ||
        now - last_sent_ < heartbeat_) {
      return;
    }
    heartbeat_message_.Clear();
    heartbeat_message_.set_cursor(after_);
    *heartbeat_message_.mutable_heartbeat_at() = ToTimestamp(now);
    writing_ = true;
    writing_heartbeat_ = true;
    StartWrite(&heartbeat_message_);
  }

  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  static constexpr size_t kPage = 100;
  AlertIntake* const alerts_;
  const absl::Duration heartbeat_;
  absl::Mutex mu_;
  uint64_t after_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::Alert> page_ ABSL_GUARDED_BY(mu_);
  v1::Alert heartbeat_message_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sent_ ABSL_GUARDED_BY(mu_) = absl::Now();
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_heartbeat_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

AlertsService::AlertsService(AlertIntake* alerts, WorkQueue* queue)
    : alerts_(alerts),
      queue_(queue),
      ticker_(std::make_unique<Periodic>(absl::Seconds(1), [alerts] {
        alerts->feed().Publish(AlertFeed::Event::kTick);
      })) {}

AlertsService::~AlertsService() = default;

void AlertsService::EndWatches() { alerts_->feed().Close(); }

grpc::ServerWriteReactor<v1::Alert>* AlertsService::Watch(
    grpc::CallbackServerContext* /*context*/, const v1::WatchRequest* request) {
  grpc::Status refusal;
  if (request->heartbeat_seconds() > kMaxHeartbeatSeconds) {
    refusal = grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("heartbeat_seconds: ", request->heartbeat_seconds(),
                     " is over the limit of ", kMaxHeartbeatSeconds));
  } else if (alerts_->recovering()) {
    // Cursors after the backup's are being filled again: none is handed
    // out until they all are.
    refusal = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                           "this node is recovering its alerts after a "
                           "restore; watch again shortly");
  }
  return new WatchReactor(alerts_, request->after_cursor(),
                          absl::Seconds(request->heartbeat_seconds()), refusal);
}

grpc::ServerUnaryReactor* AlertsService::Acknowledge(
    grpc::CallbackServerContext* context, const v1::AcknowledgeRequest* request,
    v1::AcknowledgeResponse* response) {
  return RunUnary(context, queue_, response, [this, request](auto done) {
    done(alerts_->Acknowledge(*request));
  });
}

grpc::ServerUnaryReactor* AlertsService::Status(
    grpc::CallbackServerContext* context,
    const v1::AlertStatusRequest* /*request*/,
    v1::AlertStatusResponse* response) {
  return RunUnary(
      context, queue_, response,
      [this, context](AgencyNode::Done<v1::AlertStatusResponse> done) {
        alerts_->Status(Deadline(context), std::move(done));
      });
}

}  // namespace deconfliction
