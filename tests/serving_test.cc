// How every server serves (rpc/serving.h): health follows the probe of
// what the server cannot serve without, and turns NOT_SERVING at stop.
#include "rpc/serving.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/health_check.h"

namespace deconfliction {
namespace {

// Polls `service`'s health until it answers `expected`; false after
// `within`.
bool HealthBecomes(grpc::GenericStub& stub, const std::string& service,
                   const std::string& expected, absl::Duration within) {
  const absl::Time deadline = absl::Now() + within;
  std::string bytes;
  while (absl::Now() < deadline) {
    if (CheckHealth(stub, service, &bytes).ok() && bytes == expected) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

TEST(ServingTest, HealthIsNotServingWhileTheProbeFailsAndServingAgainAfter) {
  // Any service will do: a generic one that answers nothing.
  grpc::CallbackGenericService service;
  grpc::ServerBuilder builder;
  builder.RegisterCallbackGenericService(&service);
  std::atomic<bool> usable{true};
  absl::StatusOr<Serving> serving =
      StartServing(&builder, "127.0.0.1:0", grpc::InsecureServerCredentials(),
                   1 << 20, {"test.v1.Thing"});
  ASSERT_TRUE(serving.ok()) << serving.status();
  serving->FollowHealth([&usable] {
    return usable ? absl::OkStatus() : absl::UnavailableError("disk full");
  });
  grpc::GenericStub stub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", serving->port()),
                          grpc::InsecureChannelCredentials()));
  const absl::Duration within = kHealthProbeInterval * 3;
  for (const std::string service : {"", "test.v1.Thing"}) {
    EXPECT_TRUE(HealthBecomes(stub, service, kServing, within)) << service;
  }
  usable = false;
  for (const std::string service : {"", "test.v1.Thing"}) {
    EXPECT_TRUE(HealthBecomes(stub, service, kNotServing, within)) << service;
  }
  usable = true;
  for (const std::string service : {"", "test.v1.Thing"}) {
    EXPECT_TRUE(HealthBecomes(stub, service, kServing, within)) << service;
  }
  serving->Stop(absl::ZeroDuration());
}

}  // namespace
}  // namespace deconfliction
