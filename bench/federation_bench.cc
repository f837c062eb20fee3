// The federated check, end to end: client → agency node (→ 3 custodians of
// the token key, any 2 making a token) → hub → 3 nodes, every process on
// this machine over mutual TLS, against floors measured in the same run.
//   echo             one small message to an in-process echo server (the
//                    same TLS credentials, no application work)
//   tokenization     batches of 1000 new identifiers tokenized through the
//                    custodians (blind, ask all 3, verify, combine the first
//                    2, finalize) by this process as north's node would,
//                    against the floor libsodium's scalar multiplication
//                    rate allows on this machine's cores
//   durable import   --import new identifiers registered at north in
//                    batches of 1000, one after another as `deconflict
//                    import` sends them: tokenized, stored with a synced
//                    write, their federated lookups queued; against the
//                    tokenization floor
//   federated check  one identifier through north's node, the custodians,
//                    the hub, and the nodes of south and ccc: new
//                    identifiers (tokens made), then the same again (tokens
//                    from the node's cache)
// Latency: p50/p99 of sequential calls. Throughput: calls per second with
// --concurrency callers, new identifiers. Bulk: --bulk new identifiers
// through CheckBulk in chunks of 1000, then the same again with their
// tokens cached; the difference is the tokenization stage. Each run prints
// the CPU seconds every process spent, and at the end the peak resident
// memory (VmHWM) of each.
//
// Every path is printed with its ratio to a floor computed in the same run
// from measured parts:
//   single check     its serial hops x the echo's p50 (client -> node, node
//                    -> custodians for a new token, node -> hub, hub ->
//                    nodes), plus, for a new token, the group operations
//                    on its path (the node's 8 scalar multiplications and
//                    one custodian's 2, in sequence) at libsodium's rate
//   bulk, new tokens the group operations of every identifier (14) spread
//                    over the machine's cores at libsodium's rate: the
//                    rest of the path overlaps them, chunks being in
//                    flight together
//   bulk, cached     a chunk's serial path: 3 hops of an echo carrying a
//                    1000-identifier chunk, and 2 MultiGets of 1000 tokens
//                    (north's own, then south's and ccc's in parallel);
//                    chunks reach the hub one after another (in their
//                    order, which counts against the agency's query cap)
//
// Usage: federation_bench [--calls=2000] [--concurrency=8] [--bulk=1000000]
//                         [--tokenize=20000] [--import=20000]
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <sstream>
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
#include "bench/measure.h"
#include "oprf/group.h"
#include "rpc/work_queue.h"
#include "security/identity.h"
#include "security/tls.h"
#include "server/node/node_config.h"
#include "server/node/node_tokens.h"
#include "tests/exposition.h"
#include "tests/temp_dir.h"
#include "tests/test_federation.h"

ABSL_FLAG(int, calls, 2000, "Sequential calls for the latency figures.");
ABSL_FLAG(int, concurrency, 8, "Concurrent callers for throughput.");
ABSL_FLAG(int, bulk, 1000000, "Identifiers in the bulk job (0: skip).");
ABSL_FLAG(int, tokenize, 20000,
          "Identifiers tokenized through the custodians (0: skip).");
ABSL_FLAG(int, import, 20000,
          "Identifiers registered at north in batches of 1000 (0: skip).");

namespace deconfliction {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "federation_bench: %s\n", what.c_str());
  std::exit(1);
}

using bench::Latency;
using bench::Percentiles;

// Runs `call` 50 times to warm up (on -1..-50), sequentially on
// 0..calls-1, then on calls..2*calls-1 spread over `concurrency` threads;
// returns latency and calls per second.
template <typename Call>
std::pair<Latency, double> Measure(int calls, int concurrency, Call call) {
  for (int i = 1; i <= 50; ++i) call(-i);  // connections, allocators
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
      for (int i; (i = next.fetch_add(1)) < calls;) call(calls + i);
    });
  }
  for (auto& thread : threads) thread.join();
  double rate = calls / absl::ToDoubleSeconds(absl::Now() - start);
  return {Percentiles(std::move(ms)), rate};
}

int64_t PeakKib(pid_t pid) { return bench::StatusKib(pid, "VmHWM:"); }

// A histogram's running sum (seconds) and count, as one server exposes it.
struct Timed {
  double seconds = 0;
  double count = 0;
};

// The histogram series `family{labels}` of the server whose log is `name`.
Timed Scraped(const TestFederation& federation, const std::string& name,
              const std::string& family, const std::string& labels) {
  const std::optional<Parsed> parsed = Scrape(federation.MetricsPort(name));
  if (!parsed) Die("cannot scrape the metrics of " + name);
  const auto sum = parsed->samples.find(family + "_sum{" + labels + "}");
  const auto count = parsed->samples.find(family + "_count{" + labels + "}");
  if (sum == parsed->samples.end() || count == parsed->samples.end()) {
    Die("no " + family + "{" + labels + "} at " + name);
  }
  return {sum->second, count->second};
}

// What each server of a cached check spends on its part, by its own
// metrics: north's Check, the hub's Lookup, the hub's calls to south and
// ccc as the hub times them, and their LookupTokens.
std::map<std::string, Timed> Spans(const TestFederation& federation) {
  constexpr const char* kServed = "deconfliction_rpc_server_call_seconds";
  constexpr const char* kAsked = "deconfliction_hub_node_call_seconds";
  std::map<std::string, Timed> spans = {
      {"north Check",
       Scraped(federation, "north", kServed,
               R"(method="/deconfliction.v1.Deconfliction/Check")")},
      {"hub Lookup", Scraped(federation, "hub", kServed,
                             R"(method="/deconfliction.v1.Hub/Lookup")")}};
  for (const std::string agency : {"south", "ccc"}) {
    spans["hub -> " + agency] =
        Scraped(federation, "hub", kAsked,
                "agency=\"" + agency + R"(",method="LookupTokens")");
    spans[agency + " LookupTokens"] = Scraped(
        federation, agency, kServed,
        R"(method="/deconfliction.v1.NodeFederation/LookupTokens")");
  }
  return spans;
}

// The mean milliseconds of `span` between two Spans.
double MeanMs(const std::map<std::string, Timed>& before,
              const std::map<std::string, Timed>& after,
              const std::string& span) {
  const double count = after.at(span).count - before.at(span).count;
  if (count <= 0) Die("no calls timed for " + span);
  return 1000 * (after.at(span).seconds - before.at(span).seconds) / count;
}

// The federation's processes by name, for CPU accounting.
std::map<std::string, pid_t> Processes(TestFederation& federation) {
  std::map<std::string, pid_t> processes = {{"hub", federation.hub().pid()},
                                            {"bench", getpid()}};
  for (const std::string& agency : federation.options().agencies) {
    processes[agency] = federation.node(agency).pid();
  }
  for (const std::string& name : federation.options().custodians) {
    processes["custodian " + name] = federation.custodian(name).pid();
  }
  return processes;
}

std::map<std::string, double> CpuNow(const std::map<std::string, pid_t>& pids) {
  std::map<std::string, double> cpu;
  for (const auto& [name, pid] : pids) cpu[name] = bench::CpuSeconds(pid);
  return cpu;
}

void PrintCpuSince(const std::map<std::string, pid_t>& pids,
                   const std::map<std::string, double>& before) {
  std::printf("  CPU seconds:");
  for (const auto& [name, pid] : pids) {
    std::printf(" %s %.1f;", name.c_str(),
                bench::CpuSeconds(pid) - before.at(name));
  }
  std::printf("\n");
}

int Main() {
  const int calls = absl::GetFlag(FLAGS_calls);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int bulk = absl::GetFlag(FLAGS_bulk);
  const int tokenize = absl::GetFlag(FLAGS_tokenize);
  const int import = absl::GetFlag(FLAGS_import);
  if (absl::Status s = oprf::Init(); !s.ok()) Die(s.ToString());
  TempDir dir;
  FederationOptions options;
  // Room for every identifier the checks and the bulk job make, so that the
  // second bulk run finds all its tokens cached.
  options.token_cache_entries =
      static_cast<uint32_t>(std::max(100000, bulk + 4 * calls + 1000));
  TestFederation federation(dir.path(), options);
  if (!federation.Start()) Die("cannot start the federation");
  const std::string fed = options.federation;

  // Some of the identifiers are held in south, so answers carry hits.
  {
    v1::RegisterRequest request;
    request.set_case_ref("SOUTH-BENCH");
    request.mutable_contact()->set_name("Det. Bench");
    request.mutable_contact()->set_phone("+16135550100");
    for (int i = 0; i < 1000; ++i) {
      *request.add_identifiers() = bench::Email("person", i * 7);
    }
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
  *one.add_identifiers() = bench::Email("person", 7);
  const std::string payload = one.SerializeAsString();
  auto [echo_latency, echo_rate] = Measure(calls, concurrency, [&](int) {
    grpc::Status status = bench::EchoServer::Call(echo_stub, payload);
    if (!status.ok()) Die("echo: " + status.error_message());
  });
  // The echo's CPU per call, client and server both in this process.
  const double echo_cpu_start = bench::CpuSeconds(getpid());
  for (int i = 0; i < calls; ++i) {
    if (!bench::EchoServer::Call(echo_stub, payload).ok()) Die("echo");
  }
  const double echo_cpu_seconds = bench::CpuSeconds(getpid()) - echo_cpu_start;
  // The same echo carrying a bulk chunk, and a MultiGet of one.
  v1::CheckRequest chunk_of_1000;
  for (int i = 0; i < 1000; ++i) {
    *chunk_of_1000.add_identifiers() = bench::Email("person", i);
  }
  const std::string chunk_payload = chunk_of_1000.SerializeAsString();
  const Latency chunk_echo =
      Measure(200, 1, [&](int) {
        grpc::Status status = bench::EchoServer::Call(echo_stub, chunk_payload);
        if (!status.ok()) {
          Die("echo: " + status.error_message());
        }
      }).first;
  const double multiget_ms =
      bench::MultiGetMs(dir.path() + "/multiget", 200000, 1000, 200);
  if (multiget_ms <= 0) Die("cannot measure MultiGet");
  std::printf(
      "floors' parts: mTLS echo p50 %.3f ms (one identifier), %.3f ms (%zu "
      "bytes, 1000 identifiers); MultiGet of 1000 tokens p50 %.3f ms\n",
      echo_latency.p50_ms, chunk_echo.p50_ms, chunk_payload.size(),
      multiget_ms);

  // The floor of tokenization: libsodium's scalar multiplication, one
  // core, this run. Per identifier, with t = 2 of n = 3 custodians, the
  // node does 8 multiplications (blind 1, verify 2 per combined answer,
  // combine 1 per combined answer, finalize 1) and each custodian 2
  // (evaluate 1, its batch proof's composite about 1): 14 in all, on this
  // machine's cores.
  const oprf::Scalar scalar = oprf::RandomScalar();
  const oprf::Element point = *oprf::ScalarMultGen(scalar);
  // The best of three medians: the floor is what the machine can do, and
  // the federation's own start-up work must not lower it.
  double mults_per_second = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    mults_per_second = std::max(mults_per_second,
                                bench::Measure("scalar multiplication", 1, [&] {
                                  if (!oprf::ScalarMult(scalar, point).ok()) {
                                    Die("scalar mult");
                                  }
                                }).items_per_second);
  }
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  constexpr double kMultsPerIdentifier = 8 + 3 * 2;
  const double token_floor = cores * mults_per_second / kMultsPerIdentifier;

  const auto pids = Processes(federation);
  double tokenize_rate = 0;
  if (tokenize > 0) {
    absl::StatusOr<config::v1::NodeConfig> node_config =
        LoadNodeConfig(dir.path() + "/north.textproto");
    if (!node_config.ok()) Die(node_config.status().ToString());
    WorkQueue completions(2, 1024);
    MetricsRegistry metrics;
    absl::StatusOr<std::unique_ptr<NodeTokens>> tokens =
        NodeTokens::Create(*node_config, &completions, &metrics);
    if (!tokens.ok()) Die(tokens.status().ToString());
    const auto before = CpuNow(pids);
    const absl::Time start = absl::Now();
    for (int first = 0; first < tokenize; first += 1000) {
      std::vector<CanonicalIdentifier> batch;
      for (int i = first; i < std::min(tokenize, first + 1000); ++i) {
        batch.push_back({v1::IDENTIFIER_TYPE_EMAIL,
                         absl::StrCat("token", i, "@example.org")});
      }
      const TokenBatch made = (*tokens)->tokenizer().TokenizeAndWait(
          batch, absl::Now() + absl::Seconds(30));
      if (!made.unanswered.empty()) Die("tokenize: custodians did not answer");
    }
    tokenize_rate = tokenize / absl::ToDoubleSeconds(absl::Now() - start);
    std::printf(
        "tokenization through the custodians: %d identifiers in batches of "
        "1000, %.0f identifiers/s\n",
        tokenize, tokenize_rate);
    PrintCpuSince(pids, before);
  }
  std::printf(
      "floor: %.0f scalar multiplications/s per core x %u cores / %.0f per "
      "identifier = %.0f identifiers/s; tokenization / floor = %.2f\n\n",
      mults_per_second, cores, kMultsPerIdentifier, token_floor,
      tokenize_rate / token_floor);

  if (import > 0) {
    auto registry = v1::Registry::NewStub(federation.UserChannel("north"));
    const auto before = CpuNow(pids);
    const absl::Time start = absl::Now();
    for (int first = 0; first < import; first += 1000) {
      v1::RegisterRequest request;
      request.set_case_ref("NORTH-IMPORT");
      request.mutable_contact()->set_name("Det. Import");
      request.mutable_contact()->set_phone("+16135550101");
      for (int i = first; i < std::min(import, first + 1000); ++i) {
        *request.add_identifiers() = bench::Email("imported", i);
      }
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(60));
      v1::RegisterResponse response;
      grpc::Status status = registry->Register(&context, request, &response);
      if (!status.ok()) Die("import: " + status.error_message());
      if (response.awaiting_tokens() != 0) Die("import: tokens missing");
    }
    const double import_rate =
        import / absl::ToDoubleSeconds(absl::Now() - start);
    std::printf(
        "durable import: %d identifiers registered in batches of 1000, %.0f "
        "identifiers/s; / tokenization floor = %.2f\n",
        import, import_rate, import_rate / token_floor);
    PrintCpuSince(pids, before);
    std::printf("\n");
  }

  auto stub = v1::Deconfliction::NewStub(federation.UserChannel("north"));
  std::atomic<int> hits{0};
  // Identifier `first + i`, one per call; complete answers only.
  auto check = [&](int first) {
    return [&, first](int i) {
      v1::CheckRequest request;
      *request.add_identifiers() = bench::Email("person", first + i);
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(10));
      v1::CheckResponse response;
      grpc::Status status = stub->Check(&context, request, &response);
      if (!status.ok()) Die("check: " + status.error_message());
      if (!response.results(0).complete()) Die("check: incomplete answer");
      hits += response.results(0).hits_size();
    };
  };
  // New identifiers (south holds every seventh below 7000), then the same
  // again, their tokens cached.
  auto [check_latency, check_rate] = Measure(calls, concurrency, check(0));
  auto [cached_latency, cached_rate] = Measure(calls, concurrency, check(0));
  // The same cached checks once more, sequentially, between two scrapes of
  // the servers' own timings: where a check's time goes.
  const auto spans_cpu = CpuNow(pids);
  const auto spans_before = Spans(federation);
  const absl::Time spans_start = absl::Now();
  for (int i = 0; i < calls; ++i) check(0)(i);
  const double client_mean_ms =
      absl::ToDoubleMilliseconds(absl::Now() - spans_start) / calls;
  const auto spans_after = Spans(federation);
  const auto spans_cpu_after = CpuNow(pids);

  std::printf(
      "federated check: client -> north (-> custodians) -> hub -> south, ccc "
      "(%d calls; %d concurrent for throughput)\n",
      calls, concurrency);
  std::printf("%-28s %9s %9s %12s\n", "path", "p50 ms", "p99 ms", "calls/s");
  std::printf("%-28s %9.3f %9.3f %12.0f\n", "mTLS echo", echo_latency.p50_ms,
              echo_latency.p99_ms, echo_rate);
  std::printf("%-28s %9.3f %9.3f %12.0f\n", "federated check, new token",
              check_latency.p50_ms, check_latency.p99_ms, check_rate);
  std::printf("%-28s %9.3f %9.3f %12.0f\n", "federated check, cached",
              cached_latency.p50_ms, cached_latency.p99_ms, cached_rate);
  std::printf(
      "ratios to echo: new token p50 x%.1f, p99 x%.1f, throughput %.3f; "
      "cached p50 x%.1f, p99 x%.1f, throughput %.3f\n",
      check_latency.p50_ms / echo_latency.p50_ms,
      check_latency.p99_ms / echo_latency.p99_ms, check_rate / echo_rate,
      cached_latency.p50_ms / echo_latency.p50_ms,
      cached_latency.p99_ms / echo_latency.p99_ms, cached_rate / echo_rate);
  // The node's 8 multiplications and one custodian's 2, in sequence.
  const double new_floor_ms =
      4 * echo_latency.p50_ms + 10 * 1000.0 / mults_per_second;
  const double cached_floor_ms = 3 * echo_latency.p50_ms;
  std::printf(
      "floors: new token 4 hops x echo + 10 multiplications = %.3f ms, p50 "
      "/ floor %.2f; cached 3 hops x echo = %.3f ms, p50 / floor %.2f\n\n",
      new_floor_ms, check_latency.p50_ms / new_floor_ms, cached_floor_ms,
      cached_latency.p50_ms / cached_floor_ms);
  {
    auto mean = [&](const std::string& span) {
      return MeanMs(spans_before, spans_after, span);
    };
    const double north = mean("north Check");
    const double hub = mean("hub Lookup");
    const std::string slower =
        mean("hub -> south") >= mean("hub -> ccc") ? "south" : "ccc";
    const double asked = mean("hub -> " + slower);
    const double answered = mean(slower + " LookupTokens");
    std::printf(
        "where a cached check's time goes: means of %d sequential calls, "
        "each server timing its own part\n",
        calls);
    for (const auto& [part, ms] : std::vector<std::pair<std::string, double>>{
             {"client <-> north", client_mean_ms - north},
             {"north's own work, north <-> hub", north - hub},
             {"the hub's own work", hub - asked},
             {"hub <-> " + slower + " (the slower)", asked - answered},
             {slower + "'s LookupTokens", answered},
             {"in all (the client's mean)", client_mean_ms}}) {
      std::printf("  %-34s %7.3f ms  x%.2f echo p50\n", part.c_str(), ms,
                  ms / echo_latency.p50_ms);
    }
    std::printf("  CPU per check (ms):");
    for (const auto& [name, before] : spans_cpu) {
      std::printf(" %s %.3f;", name.c_str(),
                  1000 * (spans_cpu_after.at(name) - before) / calls);
    }
    std::printf(" echo (client and server) %.3f\n\n",
                1000 * echo_cpu_seconds / calls);
  }
  // Bulk floors (see the top of this file).
  const double bulk_new_floor = token_floor;
  const double bulk_cached_floor =
      1000.0 / ((3 * chunk_echo.p50_ms + 2 * multiget_ms) / 1000.0);

  // Bulk identifiers start past every other figure's.
  const int bulk_first = 2 * calls + 1000;
  for (const char* run : {"new tokens", "tokens cached"}) {
    if (bulk <= 0) break;
    const auto before = CpuNow(pids);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(7200));
    auto stream = stub->CheckBulk(&context);
    absl::Time start = absl::Now();
    std::thread writer([&] {
      for (int first = 0; first < bulk; first += 1000) {
        v1::CheckRequest chunk;
        for (int i = first; i < std::min(bulk, first + 1000); ++i) {
          *chunk.add_identifiers() = bench::Email("person", bulk_first + i);
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
    const double floor =
        std::string(run) == "new tokens" ? bulk_new_floor : bulk_cached_floor;
    std::printf(
        "bulk, %s: %llu identifiers in %.1f s = %.0f identifiers/s "
        "(%llu with hits, %llu incomplete); floor %.0f identifiers/s, "
        "ratio %.2f\n",
        run, static_cast<unsigned long long>(answered), seconds,
        answered / seconds, static_cast<unsigned long long>(bulk_hits),
        static_cast<unsigned long long>(incomplete), floor,
        answered / seconds / floor);
    PrintCpuSince(pids, before);
  }
  std::printf("peak resident memory (VmHWM): hub %ld KiB",
              PeakKib(federation.hub().pid()));
  for (const std::string& agency : options.agencies) {
    std::printf(", %s %ld KiB", agency.c_str(),
                PeakKib(federation.node(agency).pid()));
  }
  for (const std::string& name : options.custodians) {
    std::printf(", custodian %s %ld KiB", name.c_str(),
                PeakKib(federation.custodian(name).pid()));
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
