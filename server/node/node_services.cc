#include "server/node/node_services.h"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
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

// Runs `start(reactor)` on `queue` once a worker takes the call, unless the
// call was cancelled or its deadline passed meanwhile; RESOURCE_EXHAUSTED
// at once when the queue is full.
template <typename Start>
grpc::ServerUnaryReactor* OnWorker(grpc::CallbackServerContext* context,
                                   WorkQueue* queue, Start start) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  bool admitted =
      queue->TrySubmit([context, reactor, start = std::move(start)]() mutable {
        absl::Status wanted = StillWanted(context);
        if (!wanted.ok()) {
          reactor->Finish(ToGrpcStatus(wanted));
          return;
        }
        start(reactor);
      });
  if (!admitted) reactor->Finish(Busy());
  return reactor;
}

// Runs `work` on `queue`; `work` is given a callback that finishes the call
// with its absl::StatusOr<Response> (at once, or later from another thread).
template <typename Response, typename Work>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* context,
                                   WorkQueue* queue, Response* response,
                                   Work work) {
  return OnWorker(context, queue,
                  [response, work = std::move(work)](
                      grpc::ServerUnaryReactor* reactor) mutable {
                    work(FinishWith(reactor, response));
                  });
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
  return RunUnary(context, queue_, response,
                  [this, context, request, caller = *std::move(caller)](
                      AgencyNode::Done<v1::CheckResponse> done) {
                    node_->Check(*request, 0, caller, Deadline(context),
                                 /*in_turn=*/nullptr, std::move(done));
                  });
}

// One bulk job. Chunks are read while fewer than kBulkChunksInFlight are
// read and not yet answered to the client; each is checked on the bulk
// queue as soon as it is read, so that its tokenization (at the node and at
// the custodians) overlaps the others'. What follows its tokenization (its
// lookups, local and federated) waits for the chunks before it to be
// answered: the hub sees the chunks in their order, and counts them
// against the agency's query cap in that order. The answers are written in
// the order of the chunks. A stream thus holds at most kBulkChunksInFlight
// chunks and their answers in memory, and a slow reader slows the writer.
// A chunk that fails finishes the stream with its error once the answers
// of the chunks before it are written, as if the chunks had been checked
// one at a time; a failed write finishes it at once. Chunks still being
// checked then finish into nothing, and the reactor is deleted when gRPC
// is done with it and the last of them has returned.
class DeconflictionService::BulkReactor final
    : public grpc::ServerBidiReactor<v1::CheckRequest, v1::CheckResponse> {
 public:
  BulkReactor(DeconflictionService* service,
              grpc::CallbackServerContext* context, FederationIdentity caller)
      : service_(service), context_(context), caller_(std::move(caller)) {
    {
      absl::MutexLock lock(&mu_);
      reading_ = true;
    }
    StartRead(&read_);
  }

  void OnReadDone(bool ok) override {
    std::shared_ptr<Chunk> chunk;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      if (!ok) {  // the client has sent its last chunk
        reads_done_ = true;
      } else {
        chunk = std::make_shared<Chunk>();
        chunk->seq = read_seq_++;
        chunk->first_index = next_index_;
        next_index_ += read_.identifiers_size();
        chunk->request.Swap(&read_);
        ++in_flight_;
        ++running_;
      }
    }
    if (chunk != nullptr && !Submit(chunk)) {
      Turns turns;
      {
        absl::MutexLock lock(&mu_);
        --running_;
        turns = Record(chunk->seq,
                       absl::ResourceExhaustedError(
                           "node is at its limit of queued requests; retry "
                           "with backoff"));
      }
      Go(turns);
    }
    Proceed();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      --in_flight_;
      ++write_seq_;
      if (!ok && broken_.ok()) {
        broken_ = grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
      }
    }
    Proceed();
  }

  void OnDone() override {
    service_->open_bulk_streams_.fetch_sub(1);
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      last = running_ == 0;
    }
    if (last) delete this;
  }

 private:
  struct Chunk {
    uint64_t seq = 0;
    uint64_t first_index = 0;
    v1::CheckRequest request;
  };

  // Lookups of later chunks let go on (true) or dropped (false).
  using Turns = std::vector<std::pair<std::function<void(bool)>, bool>>;

  // Checks `chunk` on the bulk queue, its answer going to Answered; false
  // when the queue is full.
  bool Submit(const std::shared_ptr<Chunk>& chunk) {
    return service_->bulk_queue_->TrySubmit([this, chunk] {
      absl::Status wanted = StillWanted(context_);
      if (!wanted.ok()) return Answered(chunk->seq, wanted);
      service_->node_->Check(
          chunk->request, chunk->first_index, caller_, Deadline(context_),
          [this, seq = chunk->seq](std::function<void(bool)> rest) {
            InTurn(seq, std::move(rest));
          },
          [this, seq = chunk->seq](absl::StatusOr<v1::CheckResponse> answer) {
            Answered(seq, std::move(answer));
          });
    });
  }

  // Runs `rest` of chunk `seq` once the chunks before it are answered;
  // drops it if one of them failed.
  void InTurn(uint64_t seq, std::function<void(bool)> rest) {
    bool go = false;
    {
      absl::MutexLock lock(&mu_);
      go = !failed_seq_ || seq < *failed_seq_;
      if (go && seq != turn_seq_) {
        waiting_turns_.emplace(seq, std::move(rest));
        return;
      }
    }
    rest(go);
  }

  void Answered(uint64_t seq, absl::StatusOr<v1::CheckResponse> answer) {
    Turns turns;
    {
      absl::MutexLock lock(&mu_);
      turns = Record(seq, std::move(answer));
    }
    Go(turns);
    // Still counted in running_: the reactor outlives this call.
    Proceed();
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      --running_;
      last = done_ && running_ == 0;
    }
    if (last) delete this;
  }

  // Keeps chunk `seq`'s answer for writing, or its failure; returns the
  // later chunks' lookups that this lets go on or drops.
  Turns Record(uint64_t seq, absl::StatusOr<v1::CheckResponse> answer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Turns turns;
    if (!answer.ok()) {
      if (!failed_seq_ || seq < *failed_seq_) {
        failed_seq_ = seq;
        failure_ = ToGrpcStatus(answer.status());
      }
      // The chunks after the failed one do not go on.
      for (auto it = waiting_turns_.upper_bound(*failed_seq_);
           it != waiting_turns_.end();) {
        turns.emplace_back(std::move(it->second), false);
        it = waiting_turns_.erase(it);
      }
    } else {
      answered_.emplace(seq, *std::move(answer));
      if (seq == turn_seq_) {
        auto next = waiting_turns_.find(++turn_seq_);
        if (next != waiting_turns_.end()) {
          turns.emplace_back(std::move(next->second), true);
          waiting_turns_.erase(next);
        }
      }
    }
    return turns;
  }

  // Runs `turns`, outside the lock.
  static void Go(const Turns& turns) {
    for (const auto& [rest, go] : turns) rest(go);
  }

  // Starts what the stream can do next: write the next answer in order,
  // read another chunk, or finish. Reads and writes are started outside
  // the lock (a reaction may run inline), and the stream is never
  // finished while one is being started.
  void Proceed() {
    while (true) {
      bool read = false;
      bool write = false;
      std::optional<grpc::Status> finish;
      {
        absl::MutexLock lock(&mu_);
        if (finished_ || starting_) return;
        if (!broken_.ok() || (failed_seq_ && write_seq_ == *failed_seq_) ||
            (reads_done_ && in_flight_ == 0)) {
          // The stream broke, the answers before a failed chunk are
          // written, or every answer is. A write under way ends first.
          if (writing_) return;
          finished_ = true;
          finish = !broken_.ok() ? broken_
                   : failed_seq_ ? failure_
                                 : grpc::Status::OK;
        } else {
          auto next = answered_.find(write_seq_);
          if (!writing_ && next != answered_.end()) {
            writing_ = write = true;
            write_ = std::move(next->second);
            answered_.erase(next);
          }
          if (!reading_ && !reads_done_ && !failed_seq_ &&
              in_flight_ < kBulkChunksInFlight) {
            reading_ = read = true;
          }
          if (!read && !write) return;
          starting_ = true;
        }
      }
      if (finish) {
        Finish(*finish);
        return;
      }
      if (write) StartWrite(&write_);
      if (read) StartRead(&read_);
      absl::MutexLock lock(&mu_);
      starting_ = false;
    }
  }

  DeconflictionService* const service_;
  grpc::CallbackServerContext* const context_;
  const FederationIdentity caller_;
  absl::Mutex mu_;
  // The read under way fills read_; the write under way sends write_.
  v1::CheckRequest read_;
  v1::CheckResponse write_;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool starting_ ABSL_GUARDED_BY(mu_) = false;  // a read or write
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;  // OnDone ran
  uint64_t read_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t write_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  // Chunks read and not yet written.
  uint32_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // Chunks submitted whose answer has not come back.
  uint32_t running_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, v1::CheckResponse> answered_ ABSL_GUARDED_BY(mu_);
  // The chunk whose lookups may run, and the later chunks' lookups waiting
  // for their turn.
  uint64_t turn_seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, std::function<void(bool)>> waiting_turns_
      ABSL_GUARDED_BY(mu_);
  // The first failed chunk and its error.
  std::optional<uint64_t> failed_seq_ ABSL_GUARDED_BY(mu_);
  grpc::Status failure_ ABSL_GUARDED_BY(mu_);
  // Not OK once a write failed.
  grpc::Status broken_ ABSL_GUARDED_BY(mu_);
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
  // The answer is built in `response`, on the call's arena.
  return OnWorker(context, queue_,
                  [this, request, response, caller = *std::move(caller)](
                      grpc::ServerUnaryReactor* reactor) {
                    reactor->Finish(ToGrpcStatus(
                        lookup_->Answer(*request, caller, response)));
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
