// Starting and stopping a federation server, the same way for the node, the
// hub and the custodian: mutual-TLS credentials, the receive limit,
// keepalive pings from FederationChannel peers accepted, gRPC health
// checking, one log line per call (rpc/call_log.h), and a bound port checked
// before anyone is told it is serving.
#ifndef DECONFLICTION_RPC_SERVING_H_
#define DECONFLICTION_RPC_SERVING_H_

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/periodic.h"

namespace deconfliction {

// How often FollowHealth probes.
inline constexpr absl::Duration kHealthProbeInterval = absl::Seconds(5);

// A started server and its bound port. Stop() (or destruction) turns
// health NOT_SERVING, refuses new calls, gives calls in progress up to
// `grace` to finish and cancels the rest, returning when all are done.
// Stop is idempotent; destruction stops with no grace.
class Serving {
 public:
  Serving() = default;
  Serving(std::unique_ptr<grpc::Server> server, int port,
          std::vector<std::string> services)
      : server_(std::move(server)),
        port_(port),
        services_(std::move(services)) {}
  Serving(Serving&&) = default;
  Serving& operator=(Serving&&) = default;
  ~Serving() { Stop(absl::ZeroDuration()); }

  int port() const { return port_; }

  // Makes health follow `probe` (what the server cannot serve without:
  // its storage), called every kHealthProbeInterval on a thread of its own
  // until Stop: NOT_SERVING for the whole server and each service while it
  // fails (logged once, with the reason), SERVING again once it passes
  // (logged). `probe` must be safe to call until Stop returns.
  void FollowHealth(std::function<absl::Status()> probe);

  void Stop(absl::Duration grace);

 private:
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::vector<std::string> services_;
  std::unique_ptr<Periodic> health_probe_;  // stopped first by Stop
};

// Starts the server `builder` describes (its services and any extra
// arguments already added) on `listen_address` (port 0: any free port).
// Health checking answers SERVING for the whole server ("") and for each of
// `services` (full names, e.g. "deconfliction.v1.Hub"), NOT_SERVING for
// all once stopping or while FollowHealth's probe fails, NOT_FOUND for any
// other name. UNAVAILABLE naming
// listen_address when it cannot listen, also when another server already
// listens there (SO_REUSEPORT is off). `interceptors` run on every call,
// after the call log (metrics/server_metrics.h, for one).
using Interceptors = std::vector<
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>;
absl::StatusOr<Serving> StartServing(
    grpc::ServerBuilder* builder, const std::string& listen_address,
    const std::shared_ptr<grpc::ServerCredentials>& credentials,
    uint32_t max_message_bytes, const std::vector<std::string>& services,
    Interceptors interceptors = {});

}  // namespace deconfliction

#endif  // DECONFLICTION_RPC_SERVING_H_
