// Match alerts end to end, every process on this machine: a hub and three
// nodes over mutual TLS, and a watcher on north's alert stream.
//   delay       from the start of south's registration that matches an
//               identifier north holds, to the alert on north's watcher
//               (sequential matches; p50/p99)
//   throughput  one registration matching --burst identifiers north holds:
//               alerts per second from the registration's answer until the
//               last one reached north's watcher (outbox → node → watcher)
//   floor       the same path's unavoidable parts, measured in the same run:
//               5 mutual-TLS round trips (client → south, south → hub,
//               hub → north's lookup, hub → north's delivery, north → the
//               watcher) at a bare echo's p50, and 3 synced writes (south's
//               registration, the hub's outbox, north's alert log) at a
//               synced RocksDB write's p50
//
// Usage: alert_bench [--matches=200] [--burst=1000]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/deconfliction/v1/deconfliction.grpc.pb.h"
#include "bench/floors.h"
#include "bench/identifiers.h"
#include "security/identity.h"
#include "security/tls.h"
#include "tests/temp_dir.h"
#include "tests/test_federation.h"

ABSL_FLAG(int, matches, 200, "Sequential matches for the delay figures.");
ABSL_FLAG(int, burst, 1000, "Identifiers matched by one registration.");

namespace deconfliction {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "alert_bench: %s\n", what.c_str());
  std::exit(1);
}

void Register(TestFederation& federation, const std::string& agency,
              const std::string& case_ref,
              const std::vector<v1::Identifier>& identifiers) {
  v1::RegisterRequest request;
  request.set_case_ref(case_ref);
  request.mutable_contact()->set_name("Det. " + agency);
  request.mutable_contact()->set_phone("+16135550100");
  for (const auto& identifier : identifiers) {
    *request.add_identifiers() = identifier;
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  v1::RegisterResponse response;
  grpc::Status status = v1::Registry::NewStub(federation.UserChannel(agency))
                            ->Register(&context, request, &response);
  if (!status.ok()) Die(status.error_message());
}

// Counts the alerts reaching one watcher.
class Watcher {
 public:
  explicit Watcher(TestFederation& federation)
      : stub_(v1::Alerts::NewStub(federation.UserChannel("north"))),
        thread_([this] { Run(); }) {}
  ~Watcher() {
    context_.TryCancel();
    thread_.join();
  }
  // Waits until `count` alerts have arrived in all; returns the time the
  // last one did.
  absl::Time WaitFor(size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!changed_.wait_for(lock, std::chrono::seconds(120),
                           [&] { return received_ >= count; })) {
      Die("alerts did not arrive");
    }
    return last_;
  }

 private:
  void Run() {
    context_.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::hours(1));
    auto stream = stub_->Watch(&context_, v1::WatchRequest());
    v1::Alert alert;
    while (stream->Read(&alert)) {
      std::lock_guard<std::mutex> lock(mu_);
      ++received_;
      last_ = absl::Now();
      changed_.notify_all();
    }
    stream->Finish();
  }

  std::unique_ptr<v1::Alerts::Stub> stub_;
  grpc::ClientContext context_;
  std::mutex mu_;
  std::condition_variable changed_;
  size_t received_ = 0;
  absl::Time last_;
  std::thread thread_;
};

int Main() {
  const int matches = absl::GetFlag(FLAGS_matches);
  const int burst = absl::GetFlag(FLAGS_burst);
  TempDir dir;
  TestFederation federation(dir.path(), FederationOptions());
  if (!federation.Start()) Die("cannot start the federation");
  Watcher north(federation);

  // North holds everything first (no one else does: no alerts yet).
  std::vector<v1::Identifier> held;
  held.reserve(matches);
  for (int i = 0; i < matches; ++i) held.push_back(bench::Email("single", i));
  Register(federation, "north", "N-SINGLE", held);
  held.clear();
  for (int i = 0; i < burst; ++i) held.push_back(bench::Email("burst", i));
  Register(federation, "north", "N-BURST", held);

  std::vector<double> delays_ms;
  for (int i = 0; i < matches; ++i) {
    absl::Time start = absl::Now();
    Register(federation, "south", absl::StrCat("S-SINGLE-", i),
             {bench::Email("single", i)});
    absl::Time arrived = north.WaitFor(static_cast<size_t>(i) + 1);
    delays_ms.push_back(absl::ToDoubleMilliseconds(arrived - start));
  }

  absl::Time start = absl::Now();
  Register(federation, "south", "S-BURST", held);
  absl::Time answered = absl::Now();
  absl::Time last = north.WaitFor(static_cast<size_t>(matches) + burst);
  double seconds = absl::ToDoubleSeconds(last - answered);

  // The floor's parts, on the same machine in the same run.
  auto server_credentials =
      MutualTlsServerCredentials(federation.pki().Files("node-north"), "tls");
  if (!server_credentials.ok()) Die(server_credentials.status().ToString());
  bench::EchoServer echo(*server_credentials);
  grpc::GenericStub echo_stub(federation.Channel(
      echo.address(), "user-north-analyst",
      NodeSpiffeId(FederationOptions().federation, "north")));
  v1::RegisterRequest one;
  *one.add_identifiers() = bench::Email("single", 0);
  const std::string payload = one.SerializeAsString();
  std::vector<double> echo_ms;
  for (int i = 0; i < 50 + matches; ++i) {
    absl::Time call = absl::Now();
    if (!bench::EchoServer::Call(echo_stub, payload).ok()) Die("echo");
    if (i >= 50) {
      echo_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - call));
    }
  }
  const bench::Latency echo_latency = bench::Percentiles(echo_ms);
  const bench::Latency synced =
      bench::SyncedWriteLatency(dir.path() + "/synced", matches);
  const double floor_ms = 5 * echo_latency.p50_ms + 3 * synced.p50_ms;

  const bench::Latency delay = bench::Percentiles(delays_ms);
  std::printf("match -> alert on the other agency's watcher (%d matches)\n",
              matches);
  std::printf("  p50 %.2f ms, p99 %.2f ms\n", delay.p50_ms, delay.p99_ms);
  std::printf(
      "  floor %.2f ms = 5 x mTLS echo p50 %.3f ms + 3 x synced write p50 "
      "%.3f ms; p50 / floor = %.2f\n",
      floor_ms, echo_latency.p50_ms, synced.p50_ms, delay.p50_ms / floor_ms);
  std::printf(
      "burst: one registration matching %d identifiers answered in "
      "%.2f s; %d alerts reached north's watcher %.2f s later = %.0f "
      "alerts/s\n",
      burst, absl::ToDoubleSeconds(answered - start), burst, seconds,
      burst / std::max(seconds, 1e-6));
  return 0;
}

}  // namespace
}  // namespace deconfliction

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return deconfliction::Main();
}
