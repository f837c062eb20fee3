// The one place where absl::Status becomes grpc::Status. The two code spaces
// are the same numbers, so every code passes through unchanged.
#ifndef DECONFLICTION_SERVER_GRPC_STATUS_H_
#define DECONFLICTION_SERVER_GRPC_STATUS_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"

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

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_GRPC_STATUS_H_
