#include "metrics/server_metrics.h"

#include <grpcpp/server_context.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "base/build_info.h"
#include "google/protobuf/descriptor.h"

namespace deconfliction {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::Interceptor;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

// "/package.Service/Method" when the generated descriptors know it.
std::string MethodLabel(const char* method) {
  if (method == nullptr) return "other";
  const absl::string_view path(method);
  const size_t slash = path.rfind('/');
  if (!absl::StartsWith(path, "/") || slash == 0 ||
      slash == absl::string_view::npos) {
    return "other";
  }
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(path.substr(1, slash - 1)));
  if (service == nullptr || service->FindMethodByName(std::string(
                                path.substr(slash + 1))) == nullptr) {
    return "other";
  }
  return std::string(path);
}

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

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
ServerMetrics::CountCalls() {
  return std::make_unique<CallCountFactory>(calls_, call_seconds_);
}

}  // namespace deconfliction
