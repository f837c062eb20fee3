// grpc.health.v1.Health/Check over a generic stub (Debian's gRPC ships no
// generated health stubs): the request is HealthCheckRequest{service}
// (field 1), the answer's field 1 the serving status, so a SERVING answer
// is the bytes 08 01 and NOT_SERVING 08 02.
#ifndef DECONFLICTION_TESTS_HEALTH_CHECK_H_
#define DECONFLICTION_TESTS_HEALTH_CHECK_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

namespace deconfliction {

inline const std::string kServing("\x08\x01", 2);
inline const std::string kNotServing("\x08\x02", 2);

// Checks `service` ("" for the whole server); the answer's bytes in
// `status_bytes` (kServing, kNotServing), empty on failure.
inline grpc::Status CheckHealth(grpc::GenericStub& stub,
                                const std::string& service,
                                std::string* status_bytes) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  std::string encoded;
  if (!service.empty()) {
    encoded =
        std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  }
  grpc::Slice slice(encoded);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&done](const grpc::Status& status) {
                   done.set_value(status);
                 });
  grpc::Status status = done.get_future().get();
  std::vector<grpc::Slice> slices;
  status_bytes->clear();
  if (status.ok() && response.Dump(&slices).ok()) {
    for (const grpc::Slice& part : slices) {
      status_bytes->append(reinterpret_cast<const char*>(part.begin()),
                           part.size());
    }
  }
  return status;
}

}  // namespace deconfliction

#endif  // DECONFLICTION_TESTS_HEALTH_CHECK_H_
