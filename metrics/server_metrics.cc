#include "metrics/server_metrics.h"

#include <grpcpp/server_context.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "base/build_info.h"
#include "rpc/call_log.h"
#include "security/revocation.h"
#include "security/tls.h"

namespace deconfliction {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::Interceptor;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

class CallCount final : public Interceptor {
 public:
  CallCount(ServerRpcInfo* info, CounterFamily* calls, HistogramFamily* seconds)
      : info_(info), calls_(calls), seconds_(seconds), started_(absl::Now()) {}

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      const std::string method = MethodLabel(info_->method());
      const std::string code = absl::StatusCodeToString(
          static_cast<absl::StatusCode>(methods->GetSendStatus().error_code()));
      calls_->WithLabels({method, code}).Increment();
      seconds_->WithLabels({method}).Observe(
          absl::ToDoubleSeconds(absl::Now() - started_));
    }
    methods->Proceed();
  }

 private:
  ServerRpcInfo* const info_;
  CounterFamily* const calls_;
  HistogramFamily* const seconds_;
  const absl::Time started_;
};

class CallCountFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  CallCountFactory(CounterFamily* calls, HistogramFamily* seconds)
      : calls_(calls), seconds_(seconds) {}

  Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new CallCount(info, calls_, seconds_);
  }

 private:
  CounterFamily* const calls_;
  HistogramFamily* const seconds_;
};

}  // namespace

ServerMetrics::ServerMetrics()
    : calls_(registry_.AddCounterFamily(
          "deconfliction_rpc_server_calls_total",
          "Calls this server answered, by method (\"other\": not one of "
          "its methods) and gRPC status code.",
          {"method", "code"})),
      call_seconds_(registry_.AddHistogramFamily(
          "deconfliction_rpc_server_call_seconds",
          "How long this server took to answer a call (a stream: its whole "
          "life), by method.",
          {"method"},
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
           10})) {
  const BuildInfo& build = Build();
  registry_.AddInfo("deconfliction_build_info",
                    "The running build: release version, source revision, "
                    "build type.",
                    {{"version", build.version},
                     {"revision", build.revision},
                     {"build_type", build.build_type}});
}

ServerMetrics::~ServerMetrics() = default;

absl::StatusOr<std::unique_ptr<ServerMetrics>> ServerMetrics::Start(
    const std::string& listen_address) {
  std::unique_ptr<ServerMetrics> metrics(new ServerMetrics());
  if (listen_address.empty()) return metrics;
  absl::StatusOr<std::unique_ptr<MetricsListener>> listener =
      MetricsListener::Start(listen_address, &metrics->registry_);
  if (!listener.ok()) return listener.status();
  metrics->listener_ = *std::move(listener);
  return metrics;
}

absl::Status ServerMetrics::ExposeTls(const config::v1::TlsFiles& tls) {
  registry_.AddGaugeFamily(
      "deconfliction_certificate_expiry_timestamp_seconds",
      "When the earliest certificate of the served certificate file (\"cert\") "
      "and of the CA file (\"ca\") expires (notAfter, Unix seconds); renew "
      "well before (docs/operations.md).",
      {"file"}, [tls]() -> std::vector<MetricsRegistry::GaugeSample> {
        std::vector<MetricsRegistry::GaugeSample> samples;
        for (const auto& [file, path] :
             {std::pair<const char*, std::string>{"cert", tls.cert_file()},
              {"ca", tls.ca_file()}}) {
          absl::StatusOr<absl::Time> expiry = EarliestExpiry(path);
          if (expiry.ok()) {
            samples.push_back(
                {{file}, absl::ToDoubleSeconds(*expiry - absl::UnixEpoch())});
          }
        }
        return samples;
      });
  absl::StatusOr<std::shared_ptr<RevocationList>> revocations =
      RevocationList::Watch(tls, "tls");
  if (!revocations.ok()) return revocations.status();
  if (*revocations == nullptr) return absl::OkStatus();
  registry_.AddGauge(
      "deconfliction_crl_next_update_timestamp_seconds",
      "When the earliest CRL of tls.crl_dir expires (nextUpdate, Unix "
      "seconds); alert well before it: an expired CRL is still enforced "
      "but no longer current.",
      [list = *std::move(revocations)] {
        return absl::ToDoubleSeconds(list->next_update() - absl::UnixEpoch());
      });
  return absl::OkStatus();
}

void ServerMetrics::ExposeStorage(
    const std::function<uint64_t(const std::string& rocksdb_property)>&
        property) {
  for (const auto& [name, rocksdb_property, help] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"deconfliction_storage_sst_bytes", "rocksdb.total-sst-files-size",
            "Bytes of the database's table files on disk."},
           {"deconfliction_storage_pending_compaction_bytes",
            "rocksdb.estimate-pending-compaction-bytes",
            "Bytes RocksDB estimates it must rewrite to finish compacting; "
            "growing without end means writes outrun the disk."},
           {"deconfliction_storage_running_compactions",
            "rocksdb.num-running-compactions", "Compactions running now."},
           {"deconfliction_storage_memtable_bytes",
            "rocksdb.cur-size-all-mem-tables",
            "Bytes of recent writes held in memory (RocksDB memtables) "
            "until they are flushed to table files; part of the resident "
            "memory, up to 64 MiB per column family."}}) {
    registry_.AddGauge(name, help,
                       [property, rocksdb_property = rocksdb_property] {
                         return static_cast<double>(property(rocksdb_property));
                       });
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ServerMetrics::CountCalls() {
  return std::make_unique<CallCountFactory>(calls_, call_seconds_);
}

}  // namespace deconfliction
