// The one place where absl::Status becomes grpc::Status. The two code spaces
// are the same numbers, so every code passes through unchanged.
#ifndef DECONFLICTION_SERVER_GRPC_STATUS_H_
#define DECONFLICTION_SERVER_GRPC_STATUS_H_

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

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_GRPC_STATUS_H_
