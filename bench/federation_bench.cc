// The federated check, end to end: client → agency node → hub → 3 nodes,
// every process on this machine over mutual TLS, against a bare mutual-TLS
// unary echo measured in the same run.
//   echo             one small message to an in-process echo server (the
//                    same TLS credentials, no application work)
//   federated check  one identifier through north's node, the hub, and the
//                    nodes of south and ccc
// Latency: p50/p99 of sequential calls. Throughput: calls per second with
// --concurrency callers. Bulk: --bulk identifiers through CheckBulk in
// chunks of 1000 (identifiers/s), and the peak resident memory (VmHWM) of
// each process afterwards.
//
// Usage: federation_bench [--calls=2000] [--concurrency=8] [--bulk=1000000]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/deconfliction/v1/deconfliction.grpc.pb.h"
#include "bench/floors.h"
#include "security/identity.h"
#include "security/tls.h"
#include "tests/temp_dir.h"
#include "tests/test_federation.h"

ABSL_FLAG(int, calls, 2000, "Sequential calls for the latency figures.");
ABSL_FLAG(int, concurrency, 8, "Concurrent callers for throughput.");
ABSL_FLAG(int, bulk, 1000000, "Identifiers in the bulk job (0: skip).");

namespace deconfliction {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "federation_bench: %s\n", what.c_str());
  std::exit(1);
}

using bench::Latency;
using bench::Percentiles;

// Runs `call` sequentially `calls` times, then `calls` times spread over
// `concurrency` threads; returns latency and calls per second.
template <typename Call>
std::pair<Latency, double> Measure(int calls, int concurrency, Call call) {
  for (int i = 0; i < 50; ++i) call(i);  // warm-up: connections, caches
  std::vector<double> ms;
  for (int i = 0; i < calls; ++i) {
    absl::Time start = absl::Now();
    call(i);
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  std::atomic<int> next{0};
  absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  threads.reserve(concurrency);
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < calls;) call(i);
    });
  }
  for (auto& thread : threads) thread.join();
  double rate = calls / absl::ToDoubleSeconds(absl::Now() - start);
  return {Percentiles(std::move(ms)), rate};
}

int64_t PeakKib(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

v1::Identifier Email(int i) {
  v1::Identifier identifier;
  identifier.set_type(v1::IDENTIFIER_TYPE_EMAIL);
  identifier.set_value(absl::StrCat("person", i, "@example.org"));
  return identifier;
}

int Main() {
  const int calls = absl::GetFlag(FLAGS_calls);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int bulk = absl::GetFlag(FLAGS_bulk);
  TempDir dir;
  FederationOptions options;
  TestFederation federation(dir.path(), options);
  if (!federation.Start()) Die("cannot start the federation");
  const std::string fed = options.federation;

  // Some of the identifiers are held in south, so answers carry hits.
  {
    v1::RegisterRequest request;
    request.set_case_ref("SOUTH-BENCH");
    request.mutable_contact()->set_name("Det. Bench");
    request.mutable_contact()->set_phone("+16135550100");
    for (int i = 0; i < 1000; ++i) *request.add_identifiers() = Email(i * 7);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    v1::RegisterResponse response;
    grpc::Status status = v1::Registry::NewStub(federation.UserChannel("south"))
                              ->Register(&context, request, &response);
    if (!status.ok()) Die(status.error_message());
  }

  // The baseline: a bare mutual-TLS unary echo, same machine, same run.
  auto server_credentials =
      MutualTlsServerCredentials(federation.pki().Files("node-north"), "tls");
  if (!server_credentials.ok()) Die(server_credentials.status().ToString());
  bench::EchoServer echo(*server_credentials);
  grpc::GenericStub echo_stub(federation.Channel(
      echo.address(), "user-north-analyst", NodeSpiffeId(fed, "north")));
  v1::CheckRequest one;
  *one.add_identifiers() = Email(7);
  const std::string payload = one.SerializeAsString();
  auto [echo_latency, echo_rate] = Measure(calls, concurrency, [&](int) {
    grpc::Status status = bench::EchoServer::Call(echo_stub, payload);
    if (!status.ok()) Die("echo: " + status.error_message());
  });

  auto stub = v1::Deconfliction::NewStub(federation.UserChannel("north"));
  std::atomic<int> hits{0};
  auto [check_latency, check_rate] = Measure(calls, concurrency, [&](int i) {
    v1::CheckRequest request;
    *request.add_identifiers() = Email(i % 2000);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::CheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    if (!status.ok()) Die("check: " + status.error_message());
    if (!response.results(0).complete()) Die("check: incomplete answer");
    hits += response.results(0).hits_size();
  });

  std::printf(
      "federated check: client -> north -> hub -> south, ccc "
      "(%d calls; %d concurrent for throughput)\n",
      calls, concurrency);
  std::printf("%-18s %9s %9s %12s\n", "path", "p50 ms", "p99 ms", "calls/s");
  std::printf("%-18s %9.3f %9.3f %12.0f\n", "mTLS echo", echo_latency.p50_ms,
              echo_latency.p99_ms, echo_rate);
  std::printf("%-18s %9.3f %9.3f %12.0f\n", "federated check",
              check_latency.p50_ms, check_latency.p99_ms, check_rate);
  std::printf("ratios to echo: p50 x%.1f, p99 x%.1f, throughput %.3f\n\n",
              check_latency.p50_ms / echo_latency.p50_ms,
              check_latency.p99_ms / echo_latency.p99_ms,
              check_rate / echo_rate);

  if (bulk > 0) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(3600));
    auto stream = stub->CheckBulk(&context);
    absl::Time start = absl::Now();
    std::thread writer([&] {
      for (int first = 0; first < bulk; first += 1000) {
        v1::CheckRequest chunk;
        for (int i = first; i < std::min(bulk, first + 1000); ++i) {
          *chunk.add_identifiers() = Email(i);
        }
        if (!stream->Write(chunk)) break;
      }
      stream->WritesDone();
    });
    uint64_t answered = 0, bulk_hits = 0, incomplete = 0;
    v1::CheckResponse answer;
    while (stream->Read(&answer)) {
      for (const auto& result : answer.results()) {
        ++answered;
        bulk_hits += !result.hits().empty();
        incomplete += !result.complete();
      }
    }
    writer.join();
    grpc::Status status = stream->Finish();
    if (!status.ok()) Die("bulk: " + status.error_message());
    double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf(
        "bulk: %llu identifiers in %.1f s = %.0f identifiers/s "
        "(%llu with hits, %llu incomplete)\n",
        static_cast<unsigned long long>(answered), seconds, answered / seconds,
        static_cast<unsigned long long>(bulk_hits),
        static_cast<unsigned long long>(incomplete));
  }
  std::printf("peak resident memory (VmHWM): hub %ld KiB",
              PeakKib(federation.hub().pid()));
  for (const std::string& agency : options.agencies) {
    std::printf(", %s %ld KiB", agency.c_str(),
                PeakKib(federation.node(agency).pid()));
  }
  std::printf(", bench client %ld KiB\n", PeakKib(getpid()));
  return 0;
}

}  // namespace
}  // namespace deconfliction

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return deconfliction::Main();
}
