#include "client/node_client.h"

#include <grpcpp/grpcpp.h>

#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "rpc/grpc_status.h"
#include "security/identity.h"
#include "security/tls.h"

namespace deconfliction {
namespace {

// The status of a failed call, as the CLI reports it. A node that refuses
// the client's certificate (revoked at the handshake, expired, or from
// another CA) closes the connection during the TLS handshake, which gRPC
// reports as UNAVAILABLE "Socket closed" or "Ssl handshake failed": that is
// a refusal of this certificate (exit 5), not an outage.
absl::Status NodeStatus(const grpc::Status& status) {
  const std::string& message = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      (absl::StrContains(message, "Socket closed") ||
       absl::StrContains(message, "Ssl handshake failed"))) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the node closed the connection during the TLS handshake: it does "
        "not accept this certificate (revoked, expired, or issued by another "
        "CA?) or does not speak TLS; check the profile's tls files (",
        message.substr(0, 200), ")"));
  }
  return FromGrpcStatus(status);
}

template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> Unary(
    Stub* stub,
    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                 Response*),
    grpc::ClientContext* context, const Request& request) {
  Response response;
  grpc::Status status = (stub->*method)(context, request, &response);
  if (!status.ok()) return NodeStatus(status);
  return response;
}

}  // namespace

absl::Status ValidateProfile(config::v1::ClientProfile* profile) {
  if (profile->node_address().empty()) {
    return absl::InvalidArgumentError(
        "node_address: required (profile, or --node=host:port)");
  }
  if (absl::Status s = ValidateFederationName(
          profile->federation(), "federation (profile, or --federation)");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateAgencyId(profile->agency_id(),
                                        "agency_id (profile, or --agency)");
      !s.ok()) {
    return s;
  }
  const auto& tls = profile->tls();
  for (auto [value, field] :
       {std::pair(&tls.cert_file(), "tls.cert_file (--cert)"),
        std::pair(&tls.key_file(), "tls.key_file (--key)"),
        std::pair(&tls.ca_file(), "tls.ca_file (--ca)")}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
    }
  }
  if (profile->deadline_seconds() == 0) {
    profile->set_deadline_seconds(kDefaultDeadlineSeconds);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<NodeClient>> NodeClient::Connect(
    const config::v1::ClientProfile& profile) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MutualTlsChannelCredentials(
          profile.tls(), "tls",
          NodeSpiffeId(profile.federation(), profile.agency_id()));
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  // A watcher is back within about a second of its node: gRPC's reconnect
  // backoff (1 s growing to 2 min by default) is held at 500 ms. (The
  // minimum backoff, which gRPC also takes as each attempt's connect
  // timeout, keeps its default of 20 s: a slow link still connects.)
  // Keepalive pings (the servers accept one every 10 s) find a dead
  // connection that no message would.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  return std::unique_ptr<NodeClient>(new NodeClient(
      grpc::CreateCustomChannel(profile.node_address(), *credentials, args),
      absl::Seconds(profile.deadline_seconds())));
}

NodeClient::NodeClient(std::shared_ptr<grpc::Channel> channel,
                       absl::Duration deadline)
    : channel_(std::move(channel)),
      registry_(v1::Registry::NewStub(channel_)),
      deconfliction_(v1::Deconfliction::NewStub(channel_)),
      alerts_(v1::Alerts::NewStub(channel_)),
      deadline_(deadline) {}

void NodeClient::SetDeadline(grpc::ClientContext* context) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
}

absl::StatusOr<v1::RegisterResponse> NodeClient::Register(
    const v1::RegisterRequest& request) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return Unary(registry_.get(), &v1::Registry::Stub::Register, &context,
               request);
}

absl::StatusOr<v1::CheckResponse> NodeClient::Check(
    const v1::CheckRequest& request) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return Unary(deconfliction_.get(), &v1::Deconfliction::Stub::Check, &context,
               request);
}

absl::StatusOr<v1::CloseCaseResponse> NodeClient::CloseCase(
    const v1::CloseCaseRequest& request) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return Unary(registry_.get(), &v1::Registry::Stub::CloseCase, &context,
               request);
}

absl::StatusOr<v1::Case> NodeClient::GetCase(
    const v1::GetCaseRequest& request) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return Unary(registry_.get(), &v1::Registry::Stub::GetCase, &context,
               request);
}

absl::StatusOr<v1::ListCasesResponse> NodeClient::ListCases(
    const v1::ListCasesRequest& request) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return Unary(registry_.get(), &v1::Registry::Stub::ListCases, &context,
               request);
}

absl::StatusOr<v1::AcknowledgeResponse> NodeClient::Acknowledge(
    const v1::AcknowledgeRequest& request) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return Unary(alerts_.get(), &v1::Alerts::Stub::Acknowledge, &context,
               request);
}

absl::StatusOr<v1::AlertStatusResponse> NodeClient::AlertStatus() {
  grpc::ClientContext context;
  SetDeadline(&context);
  return Unary(alerts_.get(), &v1::Alerts::Stub::Status, &context,
               v1::AlertStatusRequest());
}

absl::Status NodeClient::Watch(
    uint64_t after_cursor, absl::Time deadline, bool wait_for_node,
    const std::function<bool(const v1::Alert&)>& on_alert) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  context.set_wait_for_ready(wait_for_node);
  v1::WatchRequest request;
  request.set_after_cursor(after_cursor);
  request.set_heartbeat_seconds(
      static_cast<uint32_t>(absl::ToInt64Seconds(kWatchHeartbeat)));
  // A stream silent for kWatchSilence (three heartbeats missed) is dead
  // whatever TCP says: cancelled, and the caller watches again.
  absl::Mutex mu;
  absl::Time last_message = absl::Now();
  bool finished = false;
  bool silent = false;
  std::thread watchdog([&] {
    absl::MutexLock lock(&mu);
    while (!mu.AwaitWithTimeout(absl::Condition(&finished), absl::Seconds(1))) {
      if (absl::Now() - last_message > kWatchSilence) {
        silent = true;
        context.TryCancel();
        return;
      }
    }
  });
  auto stream = alerts_->Watch(&context, request);
  v1::Alert alert;
  bool stopped = false;
  while (stream->Read(&alert)) {
    {
      absl::MutexLock lock(&mu);
      last_message = absl::Now();
    }
    if (alert.has_heartbeat_at()) continue;
    if (!on_alert(alert)) {
      stopped = true;
      context.TryCancel();
      break;
    }
  }
  grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu);
    finished = true;
  }
  watchdog.join();
  if (stopped || (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
                  absl::Now() >= deadline)) {
    return absl::OkStatus();
  }
  if (silent) {
    return absl::UnavailableError(absl::StrCat(
        "nothing from the node for ", absl::FormatDuration(kWatchSilence)));
  }
  return NodeStatus(status);
}

absl::Status NodeClient::CheckBulk(
    const std::function<bool(v1::CheckRequest*)>& next_chunk,
    const std::function<void(const v1::CheckResponse&)>& on_answer,
    absl::Duration deadline) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  auto stream = deconfliction_->CheckBulk(&context);
  // The writer runs beside the reader: each Write blocks only while the
  // node's window is full, so neither side buffers the whole job.
  std::thread writer([&] {
    v1::CheckRequest chunk;
    while (next_chunk(&chunk)) {
      if (!stream->Write(chunk)) break;
      chunk.Clear();
    }
    stream->WritesDone();
  });
  v1::CheckResponse answer;
  while (stream->Read(&answer)) on_answer(answer);
  // A failed call makes pending writes fail, so the writer ends either way.
  writer.join();
  return NodeStatus(stream->Finish());
}

}  // namespace deconfliction
