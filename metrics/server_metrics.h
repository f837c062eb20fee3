// ServerMetrics: what every server exposes, whatever it does: a registry
// holding the build's description and the server's calls counted and timed,
// served by a MetricsListener when the server's configuration has a
// `metrics` section.
//
//   deconfliction_build_info{version, revision, build_type} 1
//   deconfliction_rpc_server_calls_total{method, code}
//   deconfliction_rpc_server_call_seconds{method}   (histogram; a stream's
//                                                    whole life)
//
// and, once the server hands them over (ExposeTls, ExposeStorage), what
// an operator renews or watches by, read at each scrape:
//
//   deconfliction_certificate_expiry_timestamp_seconds{file}
//       notAfter of the earliest certificate in tls.cert_file ("cert") and
//       in tls.ca_file ("ca"), Unix seconds
//   deconfliction_crl_next_update_timestamp_seconds   (with tls.crl_dir)
//   deconfliction_storage_sst_bytes                    RocksDB's files
//   deconfliction_storage_pending_compaction_bytes     compaction debt
//   deconfliction_storage_running_compactions
//
// `method` is the full method name when the generated descriptors know it,
// else "other" (a caller cannot grow the label set); `code` is the gRPC
// status code's name (OK, INVALID_ARGUMENT, ...).
//
// Thread safety: as MetricsRegistry. Destroy the gRPC server (whose calls
// the interceptor counts) before this.
#ifndef DECONFLICTION_METRICS_SERVER_METRICS_H_
#define DECONFLICTION_METRICS_SERVER_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "metrics/metrics.h"
#include "metrics/metrics_listener.h"

namespace deconfliction {

class ServerMetrics {
 public:
  // The registry, with build info and the call families; and, when
  // `listen_address` is not empty, a listener serving it there
  // (MetricsListener::Start's errors, naming metrics.listen_address).
  static absl::StatusOr<std::unique_ptr<ServerMetrics>> Start(
      const std::string& listen_address);
  ~ServerMetrics();

  MetricsRegistry& registry() { return registry_; }
  // The listener's port; 0 without one.
  int port() const { return listener_ == nullptr ? 0 : listener_->port(); }
  // Stops the listener, waiting for a scrape in progress: call it before
  // destroying what the gauges read. Not concurrently with port().
  void StopListening() { listener_.reset(); }
  // The expiry gauges of the files the server serves with (`tls`, as
  // staged: a reload shows at the next scrape). FAILED_PRECONDITION for a
  // bad crl_dir (RevocationList::Watch).
  absl::Status ExposeTls(const config::v1::TlsFiles& tls);
  // The storage gauges, from `property` (an integer RocksDB property of the
  // server's database, summed over its column families; safe to call from
  // any thread while the server lives).
  void ExposeStorage(
      const std::function<uint64_t(const std::string& rocksdb_property)>&
          property);

  // The interceptor that counts the server's calls (rpc/serving.h); one per
  // server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  CountCalls();

 private:
  ServerMetrics();

  MetricsRegistry registry_;
  CounterFamily* const calls_;
  HistogramFamily* const call_seconds_;
  std::unique_ptr<MetricsListener> listener_;  // null without one
};

}  // namespace deconfliction

#endif  // DECONFLICTION_METRICS_SERVER_METRICS_H_
