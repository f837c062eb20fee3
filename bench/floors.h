// The floors the benchmarks measure against, in the same run: a bare
// mutual-TLS unary echo (an in-process generic echo server with the
// federation's credentials and no application work), a synced RocksDB
// write and a RocksDB MultiGet, with the percentile helpers they use.
#ifndef DECONFLICTION_BENCH_FLOORS_H_
#define DECONFLICTION_BENCH_FLOORS_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace deconfliction::bench {

struct Latency {
  double p50_ms = 0, p99_ms = 0;
};

inline Latency Percentiles(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
}

// Answers every call on any method with the bytes it received.
class EchoService final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* /*context*/) override {
    class Echo final : public grpc::ServerGenericBidiReactor {
     public:
      Echo() { StartRead(&message_); }
      void OnReadDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status::OK);
          return;
        }
        StartWriteAndFinish(&message_, grpc::WriteOptions(), grpc::Status::OK);
      }
      void OnDone() override { delete this; }

     private:
      grpc::ByteBuffer message_;
    };
    return new Echo();
  }
};

// An echo server on 127.0.0.1:0 over `credentials`, and one call to it.
class EchoServer {
 public:
  explicit EchoServer(
      const std::shared_ptr<grpc::ServerCredentials>& credentials) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~EchoServer() { server_->Shutdown(); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  // One unary call of `payload` on `stub`, waited for.
  static grpc::Status Call(grpc::GenericStub& stub,
                           const std::string& payload) {
    grpc::Slice slice(payload);
    grpc::ByteBuffer request(&slice, 1), response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    std::promise<grpc::Status> done;
    stub.UnaryCall(
        &context, "/bench.Echo/Echo", grpc::StubOptions(), &request, &response,
        [&done](const grpc::Status& status) { done.set_value(status); });
    return done.get_future().get();
  }

 private:
  EchoService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// p50/p99 of `writes` synced 100-byte RocksDB writes in a fresh database in
// `dir` (the same filesystem as the servers' data): the cost of one durable
// acknowledgement. Zeros when the database cannot be written.
inline Latency SyncedWriteLatency(const std::string& dir, int writes) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, dir, &raw).ok()) return {};
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions synced;
  synced.sync = true;
  const std::string value(100, 'v');
  std::vector<double> ms;
  ms.reserve(writes);
  for (int i = 0; i < writes; ++i) {
    absl::Time start = absl::Now();
    if (!db->Put(synced, absl::StrCat("key", i), value).ok()) return {};
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  return Percentiles(std::move(ms));
}

// p50 of `calls` MultiGets of `batch` 32-byte keys, about half of them
// present, in a fresh database in `dir` holding `entries` keys with
// 100-byte values, flushed and compacted, with a whole-key bloom filter as
// the node's token index has: a batch lookup's storage floor. Zero when
// the database cannot be made.
inline double MultiGetMs(const std::string& dir, int entries, int batch,
                         int calls) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, dir, &raw).ok()) return 0;
  std::unique_ptr<rocksdb::DB> db(raw);
  auto key = [](int i) {
    std::string k = absl::StrCat("token-", i);
    k.resize(32, '.');
    return k;
  };
  const std::string value(100, 'v');
  for (int i = 0; i < entries; ++i) {
    if (!db->Put(rocksdb::WriteOptions(), key(2 * i), value).ok()) return 0;
  }
  if (!db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr)
           .ok()) {
    return 0;
  }
  std::vector<double> ms;
  for (int c = 0; c < calls; ++c) {
    std::vector<std::string> keys;
    keys.reserve(batch);
    for (int i = 0; i < batch; ++i) {
      keys.push_back(key((c * batch + i) * 7919 % (2 * entries)));
    }
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    absl::Time start = absl::Now();
    db->MultiGet(rocksdb::ReadOptions(), db->DefaultColumnFamily(),
                 slices.size(), slices.data(), values.data(), statuses.data());
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  return Percentiles(std::move(ms)).p50_ms;
}

}  // namespace deconfliction::bench

#endif  // DECONFLICTION_BENCH_FLOORS_H_
