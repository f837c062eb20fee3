// Token lookup, the node's hot path, against raw RocksDB MultiGet on the
// same data in the same run. Each call looks up one batch of 1000 tokens,
// about half of them held; figures are lookups per second (median of 5
// rounds) and ratios against the raw MultiGet baseline:
//   raw MultiGet       rocksdb::DB::MultiGet on the token_index column family
//   CaseStore::Lookup  index MultiGet, postings parsed (each carries its
//                      case's header) and filtered for liveness, on the
//                      same database instance as the raw MultiGet
//   LookupTokens RPC   the hub's NodeFederation.LookupTokens, mutual TLS
//   Check RPC          a user's Deconfliction.Check, mutual TLS, with every
//                      token already in the node's cache (adds
//                      canonicalization and the cache; the real tokens miss
//                      the stand-in index, so the bloom filter answers;
//                      bench/federation_bench measures making new tokens
//                      with the custodians)
//
// It also prints what a node of that size costs: the load (synced
// registrations of 1000 entries), the time to open the database and to
// start the whole node server on it, and this process's resident memory
// (the node server runs in it) after the start and after the lookups.
//
// Usage: token_lookup_bench [--entries=N]   (default 200000; the scale
//        figure in BENCHMARKS.md uses --entries=10000000)
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "api/deconfliction/v1/deconfliction.grpc.pb.h"
#include "api/deconfliction/v1/federation.grpc.pb.h"
#include "base/digest.h"
#include "bench/identifiers.h"
#include "bench/measure.h"
#include "identifiers/token.h"
#include "rocksdb/db.h"
#include "security/identity.h"
#include "security/tls.h"
#include "server/node/node_server.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/node_database.h"
#include "tests/temp_dir.h"
#include "tests/test_node.h"
#include "tests/test_pki.h"

ABSL_FLAG(int, entries, 200000, "Entries registered before measuring.");

namespace deconfliction {
namespace {

constexpr char kFederation[] = "bench.test";
constexpr char kAgency[] = "agency-a";
constexpr int kBatch = 1000;
constexpr int kBatches = 16;

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "token_lookup_bench: " << what << "\n";
  std::exit(1);
}

// Lookups need only a 32-byte token per identifier: a stand-in for the
// custodians' (bench/token_bench measures making real ones).
NewEntry Entry(const v1::Identifier& identifier) {
  NewEntry entry;
  entry.identifier = identifier;
  entry.canonical = *Canonicalize(identifier, {});
  entry.token = Sha256(TokenInput(entry.canonical));
  return entry;
}

int Main() {
  const int entries = absl::GetFlag(FLAGS_entries);
  TempDir dir;
  TestPki pki(dir.path() + "/pki", kFederation);
  if (!pki.ok() || !pki.Node(kAgency) || !pki.Hub() ||
      !pki.User(kAgency, "analyst")) {
    Die("cannot make the PKI");
  }
  TestCustodians custodians(&pki, {kAgency});
  if (!custodians.Make() || !custodians.Start(dir.path() + "/custodians")) {
    Die("cannot start the custodians");
  }
  config::v1::NodeConfig config =
      TestNodeConfig(pki, kFederation, kAgency, dir.path(), custodians);

  // The same queries for every path: batches drawn from twice the
  // registered range, so about half are held.
  std::mt19937 random(42);
  std::uniform_int_distribution<int> pick(0, 2 * entries - 1);
  std::vector<std::vector<NewEntry>> batches(kBatches);
  for (auto& batch : batches) {
    for (int i = 0; i < kBatch; ++i) {
      batch.push_back(Entry(bench::Email("user", pick(random))));
    }
  }
  std::vector<bench::Rate> rates;

  {  // Register, synced, as the node does; then close the database.
    auto node = NodeDatabase::Open(config.data_dir(), kAgency,
                                   TestCustodians::kEpoch, absl::Now);
    if (!node.ok()) Die(node.status().ToString());
    absl::Time start = absl::Now();
    for (int first = 0; first < entries; first += kBatch) {
      CaseUpdate update;
      update.case_ref = absl::StrCat("CASE-", first / kBatch);
      update.contact.set_name("Det. Bench");
      update.contact.set_phone("+16135550100");
      update.expires_at = absl::Now() + absl::Hours(24 * 365);
      std::vector<NewEntry> batch;
      for (int i = first; i < std::min(entries, first + kBatch); ++i) {
        batch.push_back(Entry(bench::Email("user", i)));
      }
      if (!(*node)->cases().Register(update, batch).ok()) {
        Die("register failed");
      }
    }
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf(
        "registered %d entries in %.1f s = %.0f entries/s (batches of %d, "
        "synced)\n",
        entries, seconds, entries / seconds, kBatch);
  }

  // The baseline and the store on one instance of the reopened database, so
  // both read the same state with the node's own options (bloom filter
  // included); the server below reopens the same files.
  bench::Rate baseline;
  {
    const absl::Time open_start = absl::Now();
    auto database = Database::Open(config.data_dir(), NodeFamilies());
    if (!database.ok()) Die(database.status().ToString());
    auto cases = CaseStore::Open(**database, absl::Now);
    if (!cases.ok()) Die(cases.status().ToString());
    std::printf("database opened in %.3f s\n",
                absl::ToDoubleSeconds(absl::Now() - open_start));

    rocksdb::ColumnFamilyHandle* index =
        *(*database)->Family(families::kTokenIndex);
    // Both paths measured on a settled database: no compaction running.
    for (uint64_t busy = 1; busy > 0;) {
      uint64_t running = 0, pending = 0;
      (*database)->db()->GetIntProperty("rocksdb.num-running-compactions",
                                        &running);
      (*database)->db()->GetIntProperty(index, "rocksdb.compaction-pending",
                                        &pending);
      busy = running + pending;
      if (busy > 0) absl::SleepFor(absl::Milliseconds(100));
    }
    std::vector<std::vector<rocksdb::Slice>> raw_keys(kBatches);
    std::vector<std::vector<LookupQuery>> queries(kBatches);
    for (int b = 0; b < kBatches; ++b) {
      for (const NewEntry& entry : batches[b]) {
        raw_keys[b].emplace_back(entry.token);
        queries[b].push_back(LookupQuery{entry.token, {}});
      }
    }
    std::vector<rocksdb::PinnableSlice> values(kBatch);
    std::vector<rocksdb::Status> statuses(kBatch);
    // Every batch read once first: both paths find the same blocks cached.
    for (auto& keys : raw_keys) {
      (*database)->db()->MultiGet(rocksdb::ReadOptions(), index, keys.size(),
                                  keys.data(), values.data(), statuses.data());
      for (auto& value : values) value.Reset();
    }
    size_t b = 0;
    baseline = bench::Measure("raw MultiGet", kBatch, [&] {
      auto& keys = raw_keys[b++ % kBatches];
      (*database)->db()->MultiGet(rocksdb::ReadOptions(), index, keys.size(),
                                  keys.data(), values.data(), statuses.data());
      for (auto& value : values) value.Reset();
    });
    rates.push_back(baseline);
    rates.push_back(bench::Measure("CaseStore::Lookup", kBatch, [&] {
      if (!(*cases)->Lookup(queries[b++ % kBatches]).ok()) Die("lookup");
    }));
  }

  const absl::Time start = absl::Now();
  auto server = NodeServer::Start(config);
  if (!server.ok()) Die(server.status().ToString());
  std::printf(
      "node server started in %.3f s; resident memory %.1f MiB (this "
      "process: the node server and the benchmark's client)\n\n",
      absl::ToDoubleSeconds(absl::Now() - start),
      bench::StatusKib(getpid(), "VmRSS:") / 1024.0);

  const std::string address = absl::StrCat("127.0.0.1:", (*server)->port());
  auto channel = [&](const std::string& cert) {
    auto credentials = MutualTlsChannelCredentials(
        pki.Files(cert), "tls", NodeSpiffeId(kFederation, kAgency));
    if (!credentials.ok()) Die(credentials.status().ToString());
    return grpc::CreateChannel(address, *credentials);
  };
  auto deadline = [](grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(10));
  };

  auto hub = v1::NodeFederation::NewStub(channel("hub"));
  std::vector<v1::TokenLookupRequest> lookups(kBatches);
  auto user = v1::Deconfliction::NewStub(channel("user-agency-a-analyst"));
  std::vector<v1::CheckRequest> checks(kBatches);
  for (int i = 0; i < kBatches; ++i) {
    for (const NewEntry& entry : batches[i]) {
      lookups[i].add_queries()->set_token(entry.token);
      *checks[i].add_identifiers() = entry.identifier;
    }
  }
  size_t b = 0, hits = 0, looked_up = 0;
  rates.push_back(bench::Measure("LookupTokens RPC", kBatch, [&] {
    grpc::ClientContext context;
    deadline(&context);
    v1::TokenLookupResponse response;
    grpc::Status status =
        hub->LookupTokens(&context, lookups[b++ % kBatches], &response);
    if (!status.ok()) Die(status.error_message());
    for (const auto& answer : response.answers()) {
      hits += answer.hits_size() > 0;
      ++looked_up;
    }
  }));
  // Every batch once first: their tokens are then in the node's cache.
  for (const v1::CheckRequest& check : checks) {
    grpc::ClientContext context;
    deadline(&context);
    v1::CheckResponse response;
    grpc::Status status = user->Check(&context, check, &response);
    if (!status.ok()) Die(status.error_message());
  }
  rates.push_back(bench::Measure("Check RPC (cached)", kBatch, [&] {
    grpc::ClientContext context;
    deadline(&context);
    v1::CheckResponse response;
    grpc::Status status =
        user->Check(&context, checks[b++ % kBatches], &response);
    if (!status.ok()) Die(status.error_message());
  }));

  std::printf(
      "token lookups, batches of %d, %d entries, %.0f%% of queries "
      "held\n",
      kBatch, entries,
      100.0 * static_cast<double>(hits) / static_cast<double>(looked_up));
  bench::PrintRates(rates, baseline, "lookups/s");
  std::printf("resident memory after the lookups %.1f MiB, peak %.1f MiB\n",
              bench::StatusKib(getpid(), "VmRSS:") / 1024.0,
              bench::StatusKib(getpid(), "VmHWM:") / 1024.0);
  return 0;
}

}  // namespace
}  // namespace deconfliction

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return deconfliction::Main();
}
