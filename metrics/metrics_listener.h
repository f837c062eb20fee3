// MetricsListener: a server's own plain-HTTP listener for Prometheus. It
// answers GET /metrics with the registry's exposition
// (text/plain; version=0.0.4) and 404 to every other path, 405 to every
// other method. Meant for loopback or a monitoring network: it carries
// counts and states, never identifiers, contacts or tokens, and has no TLS
// or authentication of its own.
//
// Limits: requests of at most 8 KiB (headers and body), 5 s to read one,
// 4 worker threads, 100 requests per connection.
//
// Threading: one thread of its own accepts; the destructor stops it and
// waits for requests in progress.
#ifndef DECONFLICTION_METRICS_METRICS_LISTENER_H_
#define DECONFLICTION_METRICS_METRICS_LISTENER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "metrics/metrics.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace deconfliction {

class MetricsListener {
 public:
  // Listens on `listen_address` ("host:port"; port 0 picks a free one).
  // INVALID_ARGUMENT for a malformed address, UNAVAILABLE when it cannot be
  // bound. `registry` must outlive the listener.
  static absl::StatusOr<std::unique_ptr<MetricsListener>> Start(
      const std::string& listen_address, const MetricsRegistry* registry);
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  // The port actually bound.
  int port() const { return port_; }

 private:
  MetricsListener() = default;

  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_METRICS_METRICS_LISTENER_H_
