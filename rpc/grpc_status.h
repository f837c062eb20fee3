// The one place where absl::Status and grpc::Status meet, for servers and
// clients alike. The two code spaces are the same numbers, so every code
// passes through unchanged.
#ifndef DECONFLICTION_RPC_GRPC_STATUS_H_
#define DECONFLICTION_RPC_GRPC_STATUS_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace deconfliction {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

inline absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// Finishes a unary call at once with `status` (e.g. a caller without a
// federation identity, which the authorization policy already excludes).
inline grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                           const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// A callback that finishes a unary call with an absl::StatusOr<Response>:
// the value goes into `response`, the status to the caller.
template <typename Response>
std::function<void(absl::StatusOr<Response>)> FinishWith(
    grpc::ServerUnaryReactor* reactor, Response* response) {
  return [reactor, response](absl::StatusOr<Response> result) {
    const grpc::Status status = ToGrpcStatus(result.status());
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(status);
  };
}

}  // namespace deconfliction

#endif  // DECONFLICTION_RPC_GRPC_STATUS_H_
