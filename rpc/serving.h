// Starting and stopping a federation server, the same way for the node, the
// hub and the custodian: mutual-TLS credentials, the receive limit,
// keepalive pings from FederationChannel peers accepted, gRPC health
// checking, calls gRPC itself refuses as UNIMPLEMENTED logged
// (rpc/unparsable_calls.h), and a bound port checked before anyone is told
// it is serving.
#ifndef DECONFLICTION_RPC_SERVING_H_
#define DECONFLICTION_RPC_SERVING_H_

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace deconfliction {

// A started server and its bound port. Stop() (or destruction) turns
// health NOT_SERVING, refuses new calls, gives calls in progress up to
// `grace` to finish and cancels the rest, returning when all are done.
// Stop is idempotent; destruction stops with no grace.
class Serving {
 public:
  Serving() = default;
  Serving(std::unique_ptr<grpc::Server> server, int port)
      : server_(std::move(server)), port_(port) {}
  Serving(Serving&&) = default;
  Serving& operator=(Serving&&) = default;
  ~Serving() { Stop(absl::ZeroDuration()); }

  int port() const { return port_; }
  void Stop(absl::Duration grace);

 private:
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// Starts the server `builder` describes (its services and any extra
// arguments already added) on `listen_address` (port 0: any free port).
// Health checking answers SERVING for the whole server ("") and for each of
// `services` (full names, e.g. "deconfliction.v1.Hub"), NOT_SERVING for
// all once stopping, NOT_FOUND for any other name. UNAVAILABLE naming
// listen_address when it cannot listen, also when another server already
// listens there (SO_REUSEPORT is off). `interceptors` run on every call,
// after the log of calls gRPC refuses (metrics/server_metrics.h, for one).
using Interceptors = std::vector<
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>;
absl::StatusOr<Serving> StartServing(
    grpc::ServerBuilder* builder, const std::string& listen_address,
    const std::shared_ptr<grpc::ServerCredentials>& credentials,
    uint32_t max_message_bytes, const std::vector<std::string>& services,
    Interceptors interceptors = {});

}  // namespace deconfliction

#endif  // DECONFLICTION_RPC_SERVING_H_
