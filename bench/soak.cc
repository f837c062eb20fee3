// soak: mixed load against a federation of real processes on this machine
// (three custodians, the hub, and the nodes of north, south and ccc), with
// a kill -9 every --kill_every seconds, in turn, of north's node, of the hub
// and of custodian alpha, each started again a second later. The load:
//   registrations  pairs of cases holding one new identifier, at north then
//                  at south (a match); a registration that fails is tried
//                  again until its node acknowledges it
//   checks         ccc checks identifiers north and south hold (each hit
//                  raises a CHECKED alert at the owner, aggregated per case)
//   bulk jobs      `deconflict check --file` of 500 new identifiers, as ccc,
//                  every 10 s
//   watchers       one per agency from cursor 0, reconnecting after
//                  interruptions
// Then it stops the kills, waits until every queue has drained (the nodes'
// lookups waiting for the hub, the hub's outbox), and checks:
//   * every acknowledged registration is held by its node;
//   * every match was alerted exactly once to each side, and every checked
//     case once to its owner;
//   * no watcher saw a cursor twice or skipped one;
//   * each process's resident memory: its drift over its last life;
//   * no error other than the expected: calls to north's node while it was
//     down, and partial answers.
// Prints the figures; exits 0 when every check holds, 1 otherwise.
//
// Usage: soak [--seconds=60] [--kill_every=10]
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "api/deconfliction/v1/deconfliction.grpc.pb.h"
#include "bench/identifiers.h"
#include "tests/exposition.h"
#include "tests/temp_dir.h"
#include "tests/test_federation.h"

#ifndef DECONFLICTION_CLI
#define DECONFLICTION_CLI "client/deconflict"  // Bazel runfiles path
#endif

ABSL_FLAG(int, seconds, 60, "How long the load and the kills run.");
ABSL_FLAG(int, kill_every, 10,
          "Seconds between kills (north's node, the hub, custodian alpha, in "
          "turn).");

namespace deconfliction {
namespace {

constexpr char kWatched[][6] = {"north", "south", "ccc"};

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

// Resident memory of `pid`, KiB (0 when it cannot be read).
int64_t ResidentKiB(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::strtoll(line.c_str() + 6, nullptr, 10);
    }
  }
  return 0;
}

// What went wrong, and what was expected to.
class Tally {
 public:
  void Expected(const std::string& what) { Add(&expected_, what); }
  void Unexpected(const std::string& what) { Add(&unexpected_, what); }
  void Print() {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [what, count] : expected_) {
      std::printf("  expected    %6d  %s\n", count, what.c_str());
    }
    for (const auto& [what, count] : unexpected_) {
      std::printf("  UNEXPECTED  %6d  %s\n", count, what.c_str());
    }
  }
  int unexpected() {
    std::lock_guard<std::mutex> lock(mu_);
    int total = 0;
    for (const auto& [what, count] : unexpected_) total += count;
    return total;
  }

 private:
  void Add(std::map<std::string, int>* counts, const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    ++(*counts)[what];
  }
  std::mutex mu_;
  std::map<std::string, int> expected_;
  std::map<std::string, int> unexpected_;
};

// One agency's alert stream from cursor 0, through interruptions.
class Watcher {
 public:
  Watcher(TestFederation* federation, std::string agency, Tally* tally)
      : federation_(federation), agency_(std::move(agency)), tally_(tally) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Watcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      if (context_ != nullptr) context_->TryCancel();
    }
    thread_.join();
  }
  // Alerts about `case_ref` of `kind`.
  int Count(const std::string& case_ref, v1::AlertKind kind) {
    std::lock_guard<std::mutex> lock(mu_);
    int count = 0;
    for (const auto& [cursor, alert] : alerts_) {
      count += alert.kind() == kind && alert.own_entries_size() > 0 &&
               alert.own_entries(0).case_ref() == case_ref;
    }
    return count;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return alerts_.size();
  }

 private:
  void Run() {
    uint64_t after = 0;
    while (true) {
      grpc::ClientContext context;
      context.set_deadline(In(3600));
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        context_ = &context;
      }
      v1::WatchRequest request;
      request.set_after_cursor(after);
      request.set_heartbeat_seconds(5);
      auto stream = v1::Alerts::NewStub(federation_->UserChannel(agency_))
                        ->Watch(&context, request);
      v1::Alert alert;
      while (stream->Read(&alert)) {
        if (alert.has_heartbeat_at()) continue;
        std::lock_guard<std::mutex> lock(mu_);
        if (alert.cursor() != after + 1) {
          tally_->Unexpected(absl::StrCat(agency_, " watcher: cursor ",
                                          alert.cursor(), " after ", after));
        }
        if (!ids_.insert(alert.alert_id()).second) {
          tally_->Unexpected(agency_ + " watcher: an alert id twice");
        }
        after = alert.cursor();
        alerts_[alert.cursor()] = alert;
      }
      const grpc::Status status = stream->Finish();
      {
        std::lock_guard<std::mutex> lock(mu_);
        context_ = nullptr;
        if (stopping_) return;
      }
      tally_->Expected(absl::StrCat(agency_, " watch interrupted (code ",
                                    status.error_code(), ") and resumed"));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  TestFederation* const federation_;
  const std::string agency_;
  Tally* const tally_;
  std::mutex mu_;
  std::map<uint64_t, v1::Alert> alerts_;
  std::set<std::string> ids_;
  grpc::ClientContext* context_ = nullptr;
  bool stopping_ = false;
  std::thread thread_;
};

// When north's node was down (killed, until its port was back plus 2 s):
// failures of calls to it then are expected.
class Outages {
 public:
  void Begin() {
    std::lock_guard<std::mutex> lock(mu_);
    windows_.push_back({absl::Now(), absl::InfiniteFuture()});
  }
  void End() {
    std::lock_guard<std::mutex> lock(mu_);
    windows_.back().second = absl::Now() + absl::Seconds(2);
  }
  bool Overlaps(absl::Time start, absl::Time end) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [from, to] : windows_) {
      if (start <= to && end >= from) return true;
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<absl::Time, absl::Time>> windows_;
};

class Soak {
 public:
  explicit Soak(TestFederation* federation) : federation_(federation) {
    // One channel per agency's analyst, as a client keeps it: it
    // reconnects by itself after its node's restarts.
    for (const char* agency : kWatched) {
      channels_[agency] = federation_->UserChannel(agency);
    }
  }

  int Run(int seconds, int kill_every) {
    std::vector<std::unique_ptr<Watcher>> watchers;
    for (const char* agency : kWatched) {
      watchers.push_back(
          std::make_unique<Watcher>(federation_, agency, &tally_));
    }
    SampleMemory();
    const absl::Time start = absl::Now();
    const absl::Time end = start + absl::Seconds(seconds);
    std::vector<std::thread> load;
    load.reserve(4);
    for (int t = 0; t < 2; ++t) {
      load.emplace_back([this, end, t] { Registrations(end, t); });
    }
    load.emplace_back([this, end] { Checks(end); });
    load.emplace_back([this, end] { BulkJobs(end); });
    int kills = 0;
    const char* const victims[] = {"node north", "hub", "custodian alpha"};
    absl::Time next_kill = start + absl::Seconds(kill_every);
    while (absl::Now() < end) {
      absl::SleepFor(absl::Milliseconds(500));
      SampleMemory();
      if (absl::Now() < next_kill) continue;
      if (!Kill(kills % 3)) return 1;
      std::printf("%5.1f s  kill -9 %s, restarted\n",
                  absl::ToDoubleSeconds(absl::Now() - start),
                  victims[kills % 3]);
      ++kills;
      next_kill = absl::Now() + absl::Seconds(kill_every);
    }
    for (std::thread& thread : load) thread.join();
    const absl::Duration loaded = absl::Now() - start;
    std::printf("load done after %.1f s; waiting for every queue to drain\n",
                absl::ToDoubleSeconds(loaded));
    const absl::Duration drained = Drain();
    SampleMemory();
    std::printf("drained in %.1f s\n", absl::ToDoubleSeconds(drained));
    return Report(loaded, kills, watchers);
  }

 private:
  // kill -9 of north's node (0), the hub (1) or custodian alpha (2), then
  // a restart after a second.
  bool Kill(int which) {
    if (which == 0) {
      outages_.Begin();
      federation_->node("north").Kill();
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const bool started = federation_->StartNode("north");
      outages_.End();
      return started;
    }
    if (which == 1) {
      federation_->hub().Kill();
      std::this_thread::sleep_for(std::chrono::seconds(1));
      return federation_->StartHub();
    }
    federation_->custodian("alpha").Kill();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    return federation_->StartCustodian("alpha");
  }

  // Registers `identifier` in `case_ref` at `agency` until acknowledged
  // (or `give_up`).
  bool Register(const std::string& agency, const std::string& case_ref,
                const v1::Identifier& identifier, absl::Time give_up) {
    v1::RegisterRequest request;
    request.set_case_ref(case_ref);
    request.mutable_contact()->set_name("Det. " + agency);
    request.mutable_contact()->set_phone("+16135550100");
    *request.add_identifiers() = identifier;
    while (absl::Now() < give_up) {
      grpc::ClientContext context;
      context.set_deadline(In(10));
      v1::RegisterResponse response;
      const absl::Time sent = absl::Now();
      const grpc::Status status = v1::Registry::NewStub(channels_.at(agency))
                                      ->Register(&context, request, &response);
      if (status.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        acknowledged_.emplace_back(agency, case_ref);
        return true;
      }
      Failed("Register", agency, status, sent);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  void Failed(const std::string& call, const std::string& agency,
              const grpc::Status& status, absl::Time sent) {
    const std::string what =
        absl::StrCat(call, " at ", agency, ": code ", status.error_code());
    if (agency == "north" && outages_.Overlaps(sent, absl::Now())) {
      tally_.Expected(what + " while its node was down");
    } else {
      tally_.Unexpected(absl::StrCat(what, ": ", status.error_message()));
    }
  }

  void Registrations(absl::Time end, int thread) {
    for (int n = 0; absl::Now() < end; ++n) {
      const int i = thread * 1000000 + n;
      const v1::Identifier identifier = bench::Email("soak-", i);
      if (!Register("north", absl::StrCat("N-", i), identifier, end)) return;
      if (!Register("south", absl::StrCat("S-", i), identifier,
                    end + absl::Seconds(30))) {
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        matches_.push_back(i);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  void Checks(absl::Time end) {
    std::mt19937 random(7);
    while (absl::Now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      int i;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (matches_.empty()) continue;
        i = matches_[random() % matches_.size()];
      }
      v1::CheckRequest request;
      *request.add_identifiers() = bench::Email("soak-", i);
      grpc::ClientContext context;
      context.set_deadline(In(10));
      v1::CheckResponse response;
      const absl::Time sent = absl::Now();
      const grpc::Status status =
          v1::Deconfliction::NewStub(channels_.at("ccc"))
              ->Check(&context, request, &response);
      ++checks_;
      if (!status.ok()) {
        Failed("Check", "ccc", status, sent);
        continue;
      }
      std::set<std::string> owners;
      for (const v1::Hit& hit : response.results(0).hits()) {
        owners.insert(hit.agency_id());
      }
      if (owners.size() < 2) tally_.Expected("Check: partial answer");
      std::lock_guard<std::mutex> lock(mu_);
      if (owners.count("north")) checked_.insert(absl::StrCat("N-", i));
      if (owners.count("south")) checked_.insert(absl::StrCat("S-", i));
    }
  }

  void BulkJobs(absl::Time end) {
    const std::string profile = federation_->WriteProfile("ccc");
    const std::string file = federation_->dir() + "/bulk.csv";
    for (int job = 0; absl::Now() + absl::Seconds(10) < end; ++job) {
      {
        std::ofstream out(file);
        for (int i = 0; i < 500; ++i) {
          out << "email,bulk-" << job << "-" << i << "@example.org\n";
        }
      }
      const std::string command = absl::StrCat(
          DECONFLICTION_CLI, " --profile=", profile, " check --file=", file,
          " >> ", federation_->dir(), "/bulk.log 2>&1");
      const int code = WEXITSTATUS(std::system(command.c_str()));
      ++bulk_jobs_;
      // 0: no hit, all asked; 4: an answer incomplete (a node or the hub
      // was down).
      if (code == 4) {
        tally_.Expected("bulk check: incomplete answers (exit 4)");
      } else if (code != 0) {
        tally_.Unexpected(absl::StrCat("bulk check: exit ", code, " (see ",
                                       federation_->dir(), "/bulk.log)"));
      }
      std::this_thread::sleep_for(std::chrono::seconds(10));
    }
  }

  // Waits until no node has lookups waiting for the hub and the hub has
  // no alert pending for anyone, twice in a row (at most 120 s).
  absl::Duration Drain() {
    const absl::Time start = absl::Now();
    int quiet = 0;
    while (quiet < 2 && absl::Now() - start < absl::Seconds(120)) {
      bool idle = true;
      for (const char* agency : kWatched) {
        grpc::ClientContext context;
        context.set_deadline(In(5));
        v1::AlertStatusResponse status;
        grpc::Status called =
            v1::Alerts::NewStub(channels_.at(agency))
                ->Status(&context, v1::AlertStatusRequest(), &status);
        idle = idle && called.ok() && status.hub_answered() &&
               status.pending_at_hub() == 0 &&
               status.lookups_waiting_for_hub() == 0;
      }
      quiet = idle ? quiet + 1 : 0;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    if (quiet < 2) tally_.Unexpected("queues still not drained after 120 s");
    return absl::Now() - start;
  }

  void SampleMemory() {
    const std::pair<std::string, ChildProcess*> processes[] = {
        {"node north", &federation_->node("north")},
        {"node south", &federation_->node("south")},
        {"node ccc", &federation_->node("ccc")},
        {"hub", &federation_->hub()},
        {"custodian alpha", &federation_->custodian("alpha")},
        {"custodian beta", &federation_->custodian("beta")},
        {"custodian gamma", &federation_->custodian("gamma")},
    };
    const absl::Time now = absl::Now();
    for (const auto& [name, process] : processes) {
      Life& life = lives_[name];
      if (life.pid != process->pid()) {
        if (life.pid != 0) ++life.restarts;
        life.pid = process->pid();
        life.started = now;
        life.samples.clear();
      }
      life.samples.emplace_back(now, ResidentKiB(process->pid()));
    }
  }

  int Report(absl::Duration loaded, int kills,
             const std::vector<std::unique_ptr<Watcher>>& watchers) {
    // The held registrations, the alerts each side got.
    int lost = 0;
    for (const auto& [agency, case_ref] : acknowledged_) {
      v1::GetCaseRequest request;
      request.set_case_ref(case_ref);
      grpc::ClientContext context;
      context.set_deadline(In(10));
      v1::Case held;
      if (!v1::Registry::NewStub(channels_.at(agency))
               ->GetCase(&context, request, &held)
               .ok()) {
        ++lost;
      }
    }
    if (lost > 0) {
      tally_.Unexpected(absl::StrCat(lost, " acknowledged registrations lost"));
    }
    int expected = 0;
    int delivered = 0;
    auto expect = [&](Watcher& watcher, const std::string& agency,
                      const std::string& case_ref, v1::AlertKind kind) {
      ++expected;
      const int count = watcher.Count(case_ref, kind);
      if (count == 1) {
        ++delivered;
      } else {
        tally_.Unexpected(absl::StrCat(agency, ": ", count, " alerts of kind ",
                                       kind, " for ", case_ref,
                                       " (1 expected)"));
      }
    };
    for (int i : matches_) {
      expect(*watchers[0], "north", absl::StrCat("N-", i),
             v1::ALERT_KIND_REGISTRATION_MATCH);
      expect(*watchers[1], "south", absl::StrCat("S-", i),
             v1::ALERT_KIND_REGISTRATION_MATCH);
    }
    for (const std::string& case_ref : checked_) {
      const bool north = case_ref[0] == 'N';
      expect(*watchers[north ? 0 : 1], north ? "north" : "south", case_ref,
             v1::ALERT_KIND_CHECKED);
    }
    std::printf("\nsoak: %.0f s of load, %d kills (-9), then drained\n",
                absl::ToDoubleSeconds(loaded), kills);
    std::printf("  registrations acknowledged  %zu (%zu matching pairs)\n",
                acknowledged_.size(), matches_.size());
    std::printf("  registrations lost          %d\n", lost);
    std::printf("  checks                      %d (%zu cases hit)\n",
                checks_.load(), checked_.size());
    std::printf("  bulk jobs                   %d x 500 identifiers\n",
                bulk_jobs_.load());
    std::printf(
        "  alerts expected             %d (each side of each match, "
        "each checked case)\n",
        expected);
    std::printf("  alerts delivered once       %d\n", delivered);
    std::printf("  alerts watched              north %zu, south %zu, ccc %zu\n",
                watchers[0]->size(), watchers[1]->size(), watchers[2]->size());
    std::printf(
        "  resident memory (KiB) over each process's last life, from 10 s "
        "into it:\n");
    std::printf("    %-16s %8s %10s %10s %10s %14s\n", "process", "restarts",
                "first", "last", "drift", "memtables now");
    for (const auto& [name, life] : lives_) {
      const int64_t first = Settled(life);
      const int64_t last =
          life.samples.empty() ? 0 : life.samples.back().second;
      std::printf("%s", absl::StrFormat(
                            "    %-16s %8d %10d %10d %+9.1f%% %14d\n", name,
                            life.restarts, first, last,
                            first == 0 ? 0.0 : 100.0 * (last - first) / first,
                            MemtableKiB(name))
                            .c_str());
    }
    std::printf("  errors:\n");
    tally_.Print();
    const int unexpected = tally_.unexpected();
    std::printf("soak: %s\n", unexpected == 0 ? "PASSED" : "FAILED");
    return unexpected == 0 ? 0 : 1;
  }

  // The process's RocksDB memtables, KiB, from its metrics (-1 when they
  // cannot be read): memory that grows with writes until a flush.
  int64_t MemtableKiB(const std::string& process) {
    std::string log_name = process;
    if (process.rfind("node ", 0) == 0) log_name = process.substr(5);
    if (process.rfind("custodian ", 0) == 0) {
      log_name = "custodian-" + process.substr(10);
    }
    std::optional<Parsed> parsed = Scrape(federation_->MetricsPort(log_name));
    if (!parsed) return -1;
    auto found = parsed->samples.find("deconfliction_storage_memtable_bytes");
    if (found == parsed->samples.end()) return -1;
    return static_cast<int64_t>(found->second) / 1024;
  }

  TestFederation* const federation_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
  Tally tally_;
  Outages outages_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> acknowledged_;
  std::vector<int> matches_;
  std::set<std::string> checked_;
  std::atomic<int> checks_{0};
  std::atomic<int> bulk_jobs_{0};
  struct Life {
    pid_t pid = 0;
    int restarts = 0;
    absl::Time started;
    std::vector<std::pair<absl::Time, int64_t>> samples;  // KiB
  };
  // The first sample 10 s into `life` (after start-up's allocations), or
  // its first.
  static int64_t Settled(const Life& life) {
    for (const auto& [at, kib] : life.samples) {
      if (at - life.started >= absl::Seconds(10)) return kib;
    }
    return life.samples.empty() ? 0 : life.samples.front().second;
  }

  std::map<std::string, Life> lives_;  // the main thread's
};

}  // namespace
}  // namespace deconfliction

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  deconfliction::TempDir dir;
  deconfliction::TestFederation federation(dir.path(),
                                           deconfliction::FederationOptions());
  if (!federation.Start()) return 1;
  deconfliction::Soak soak(&federation);
  return soak.Run(absl::GetFlag(FLAGS_seconds),
                  absl::GetFlag(FLAGS_kill_every));
}
