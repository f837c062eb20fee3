// A federation of many agencies on this machine, against a federation of 3
// in the same run: the custodians, a hub and every agency's node as real
// processes over mutual TLS (bench/federation_bench's federation, with
// --agencies nodes instead of 3). For each federation it prints:
//   start            the time to start every process
//   single check     p50/p99 of --calls sequential checks of one identifier
//                    by north, new (tokens made by the custodians), then the
//                    same again (tokens cached): the hub asks every other
//                    node in parallel
//   hub cost         the hub's CPU per check (the cached run), and its
//                    resident memory per node of the federation
//   node memory      the nodes' resident memory, mean and largest
//   a hung node      one node stopped (SIGSTOP): the first check's latency
//                    (the hub finds it hung at its node deadline) and the
//                    next checks' (the hub then skips it: limits.
//                    hung_node_timeout_ms), every answer naming it
//                    unanswered and holding the others' hits; then the node
//                    resumed (SIGCONT) and answering again
// and the ratios of the large federation's figures to the small one's.
//
// Then, for docs/scale.md, what routing by per-node token filters would
// cost: a Bloom filter over --filter_entries tokens (as a node would send
// the hub), at 10 and 16 bits per token: its memory, and its measured
// false-positive rate over as many tokens it does not hold (the share of
// queries that would still ask a node that holds nothing), against the
// textbook rate. Tokens are uniformly random 32-byte strings (VOPRF
// outputs), so the filter takes its bit positions straight from a
// token's bytes (double hashing), with no hash function of its own.
//
// Usage: scale_bench [--agencies=200] [--calls=300]
//                    [--filter_entries=1000000] (0 skips either part:
//                    --agencies=0 for the filter alone)
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "api/deconfliction/v1/deconfliction.grpc.pb.h"
#include "bench/floors.h"
#include "bench/identifiers.h"
#include "bench/measure.h"
#include "tests/temp_dir.h"
#include "tests/test_federation.h"

ABSL_FLAG(int, agencies, 200, "Agencies of the large federation (>= 4).");
ABSL_FLAG(int, calls, 300, "Sequential checks per figure.");
ABSL_FLAG(int, filter_entries, 1000000,
          "Tokens in the measured token filter (0: skip).");

namespace deconfliction {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "scale_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Figures {
  int agencies = 0;
  double start_s = 0;
  bench::Latency new_check, cached_check;
  double hub_cpu_ms_per_check = 0;
  double hub_rss_mib = 0;
  double node_rss_mean_mib = 0, node_rss_max_mib = 0;
  double hung_first_ms = 0;
  bench::Latency hung_next;
  double resumed_ms = 0;
};

// One federation of `agencies` agencies: north, south, ccc and the rest.
Figures Run(int agencies, int calls) {
  Figures figures;
  figures.agencies = agencies;
  TempDir dir;
  FederationOptions options;
  for (int i = 3; i < agencies; ++i) {
    options.agencies.push_back(absl::StrFormat("agency-%03d", i));
  }
  TestFederation federation(dir.path(), options);
  const absl::Time start = absl::Now();
  if (!federation.Start()) Die("cannot start the federation");
  figures.start_s = absl::ToDoubleSeconds(absl::Now() - start);
  // The stopped node holds the identifiers the checks find, so that its
  // answers are missed when it hangs; south holds them too.
  const std::string hung = options.agencies.back();
  for (const std::string& holder : {std::string("south"), hung}) {
    v1::RegisterRequest request;
    request.set_case_ref("HELD");
    request.mutable_contact()->set_name("Det. Scale");
    request.mutable_contact()->set_phone("+16135550100");
    for (int i = 0; i < calls; i += 10) {
      *request.add_identifiers() = bench::Email("held.person", i);
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    v1::RegisterResponse response;
    grpc::Status status = v1::Registry::NewStub(federation.UserChannel(holder))
                              ->Register(&context, request, &response);
    if (!status.ok()) Die("register: " + status.error_message());
  }

  auto stub = v1::Deconfliction::NewStub(federation.UserChannel("north"));
  // One check of `identifier`; its latency in ms, and its answer.
  auto check = [&](const v1::Identifier& identifier,
                   v1::CheckResponse* response) {
    v1::CheckRequest request;
    *request.add_identifiers() = identifier;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    const absl::Time begin = absl::Now();
    grpc::Status status = stub->Check(&context, request, response);
    if (!status.ok()) Die("check: " + status.error_message());
    return absl::ToDoubleMilliseconds(absl::Now() - begin);
  };
  // `calls` checks of held.person<i>; complete answers with the expected
  // hits, or Die.
  auto checks = [&](const std::string& what) {
    std::vector<double> ms;
    for (int i = 0; i < calls; ++i) {
      v1::CheckResponse response;
      ms.push_back(check(bench::Email("held.person", i), &response));
      const v1::CheckResult& result = response.results(0);
      const int expected = i % 10 == 0 ? 2 : 0;
      if (!result.complete() || result.hits_size() != expected) {
        Die(absl::StrCat(what, ": check ", i, " incomplete or with ",
                         result.hits_size(), " hits"));
      }
    }
    return bench::Percentiles(std::move(ms));
  };
  for (int i = 0; i < 20; ++i) {  // connections, allocators
    v1::CheckResponse response;
    check(bench::Email("warm.person", i), &response);
  }
  figures.new_check = checks("new tokens");
  const pid_t hub = federation.hub().pid();
  const double hub_cpu = bench::CpuSeconds(hub);
  figures.cached_check = checks("cached tokens");
  figures.hub_cpu_ms_per_check =
      (bench::CpuSeconds(hub) - hub_cpu) * 1000 / calls;
  figures.hub_rss_mib = bench::StatusKib(hub, "VmRSS:") / 1024.0;
  double node_rss_sum = 0;
  for (const std::string& agency : options.agencies) {
    const double mib =
        bench::StatusKib(federation.node(agency).pid(), "VmRSS:") / 1024.0;
    node_rss_sum += mib;
    figures.node_rss_max_mib = std::max(figures.node_rss_max_mib, mib);
  }
  figures.node_rss_mean_mib = node_rss_sum / agencies;

  // A hung node: stopped, as a node whose host froze.
  const pid_t hung_pid = federation.node(hung).pid();
  if (kill(hung_pid, SIGSTOP) != 0) Die("SIGSTOP");
  auto expect_hung = [&](const v1::CheckResponse& response) {
    const v1::CheckResult& result = response.results(0);
    if (result.complete() || result.unanswered_size() != 1 ||
        result.unanswered(0).agency_id() != hung || result.hits_size() != 1) {
      Die("hung node: an answer does not name it alone, or lost south's hit");
    }
  };
  {
    v1::CheckResponse response;
    figures.hung_first_ms = check(bench::Email("held.person", 0), &response);
    expect_hung(response);
  }
  std::vector<double> hung_ms;
  for (int i = 1; i <= 50; ++i) {
    v1::CheckResponse response;
    hung_ms.push_back(
        check(bench::Email("held.person", 10 * (i % (calls / 10))), &response));
    expect_hung(response);
  }
  figures.hung_next = bench::Percentiles(std::move(hung_ms));
  // Resumed: answered again, and found again, within a few checks.
  if (kill(hung_pid, SIGCONT) != 0) Die("SIGCONT");
  const absl::Time resumed = absl::Now();
  for (int attempt = 0;; ++attempt) {
    v1::CheckResponse response;
    check(bench::Email("held.person", 0), &response);
    if (response.results(0).complete() &&
        response.results(0).hits_size() == 2) {
      break;
    }
    if (attempt == 200) Die("the resumed node is not asked again");
    absl::SleepFor(absl::Milliseconds(50));
  }
  figures.resumed_ms = absl::ToDoubleMilliseconds(absl::Now() - resumed);
  return figures;
}

// A Bloom filter over uniformly random tokens, for the measurement only.
class TokenFilter {
 public:
  TokenFilter(size_t entries, int bits_per_entry)
      : bits_(entries * bits_per_entry),
        // The number of probes that minimizes false positives: ln 2 * m/n.
        probes_(
            std::max(1, static_cast<int>(std::lround(bits_per_entry * 0.693)))),
        words_((bits_ + 63) / 64) {}

  void Add(const std::string& token) {
    for (int i = 0; i < probes_; ++i) {
      const uint64_t bit = Probe(token, i);
      words_[bit / 64] |= uint64_t{1} << (bit % 64);
    }
  }
  bool MayHold(const std::string& token) const {
    for (int i = 0; i < probes_; ++i) {
      const uint64_t bit = Probe(token, i);
      if ((words_[bit / 64] & (uint64_t{1} << (bit % 64))) == 0) return false;
    }
    return true;
  }
  size_t bytes() const { return words_.size() * sizeof(uint64_t); }
  int probes() const { return probes_; }

 private:
  uint64_t Probe(const std::string& token, int i) const {
    uint64_t h1 = 0, h2 = 0;
    std::memcpy(&h1, token.data(), sizeof(h1));
    std::memcpy(&h2, token.data() + sizeof(h1), sizeof(h2));
    return (h1 + static_cast<uint64_t>(i) * (h2 | 1)) % bits_;
  }

  const uint64_t bits_;
  const int probes_;
  std::vector<uint64_t> words_;
};

void MeasureTokenFilter(int entries) {
  std::mt19937_64 random(7);
  auto token = [&random] {
    std::string bytes(32, '\0');
    for (size_t i = 0; i < bytes.size(); i += 8) {
      const uint64_t word = random();
      std::memcpy(&bytes[i], &word, 8);
    }
    return bytes;
  };
  std::vector<std::string> held(entries), absent(entries);
  for (std::string& t : held) t = token();
  for (std::string& t : absent) t = token();
  for (int bits : {10, 16}) {
    TokenFilter filter(entries, bits);
    const absl::Time start = absl::Now();
    for (const std::string& t : held) filter.Add(t);
    const double build_s = absl::ToDoubleSeconds(absl::Now() - start);
    for (const std::string& t : held) {
      if (!filter.MayHold(t)) Die("token filter: a held token is missed");
    }
    int false_positives = 0;
    for (const std::string& t : absent) false_positives += filter.MayHold(t);
    const double expected =
        std::pow(1 - std::exp(-static_cast<double>(filter.probes()) / bits),
                 filter.probes());
    std::printf(
        "token filter, %d tokens at %d bits each (%d probes): %.2f MiB, "
        "built in %.2f s; false positives %.4f%% of %d absent tokens "
        "(textbook %.4f%%)\n",
        entries, bits, filter.probes(), filter.bytes() / 1048576.0, build_s,
        100.0 * false_positives / entries, entries, 100 * expected);
  }
}

void Print(const Figures& f) {
  std::printf(
      "%d agencies: started in %.1f s\n"
      "  single check p50 / p99 ms: new tokens %.3f / %.3f; cached %.3f / "
      "%.3f\n"
      "  hub: %.3f ms CPU per check; resident %.1f MiB = %.3f MiB per node\n"
      "  nodes resident: mean %.1f MiB, largest %.1f MiB; all %d: %.2f GiB\n"
      "  one node hung: first check %.1f ms; next 50 p50 / p99 %.1f / %.1f "
      "ms; answered again %.0f ms after it resumed\n",
      f.agencies, f.start_s, f.new_check.p50_ms, f.new_check.p99_ms,
      f.cached_check.p50_ms, f.cached_check.p99_ms, f.hub_cpu_ms_per_check,
      f.hub_rss_mib, f.hub_rss_mib / f.agencies, f.node_rss_mean_mib,
      f.node_rss_max_mib, f.agencies, f.node_rss_mean_mib * f.agencies / 1024.0,
      f.hung_first_ms, f.hung_next.p50_ms, f.hung_next.p99_ms, f.resumed_ms);
}

int Main() {
  const int agencies = absl::GetFlag(FLAGS_agencies);
  const int calls = absl::GetFlag(FLAGS_calls);
  const int filter_entries = absl::GetFlag(FLAGS_filter_entries);
  if (filter_entries > 0) MeasureTokenFilter(filter_entries);
  if (agencies == 0) return 0;
  if (agencies < 4 || calls < 10) Die("--agencies >= 4 and --calls >= 10");
  const Figures small = Run(3, calls);
  Print(small);
  const Figures large = Run(agencies, calls);
  Print(large);
  const double more_nodes = large.agencies - small.agencies;
  std::printf(
      "large / small: check p50 new x%.2f, cached x%.2f; p99 cached x%.2f; "
      "hub CPU per check x%.2f\n"
      "each node more: hub CPU %.4f ms per check, hub resident %.3f MiB, "
      "check p50 (cached) %.4f ms\n",
      large.new_check.p50_ms / small.new_check.p50_ms,
      large.cached_check.p50_ms / small.cached_check.p50_ms,
      large.cached_check.p99_ms / small.cached_check.p99_ms,
      large.hub_cpu_ms_per_check / small.hub_cpu_ms_per_check,
      (large.hub_cpu_ms_per_check - small.hub_cpu_ms_per_check) / more_nodes,
      (large.hub_rss_mib - small.hub_rss_mib) / more_nodes,
      (large.cached_check.p50_ms - small.cached_check.p50_ms) / more_nodes);
  return 0;
}

}  // namespace
}  // namespace deconfliction

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return deconfliction::Main();
}
