#include "rpc/call_log.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/server_context.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "google/protobuf/descriptor.h"

namespace deconfliction {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::Interceptor;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

// Text from the call, as the log shows it: at most 200 bytes (the log
// escapes it).
std::string Shown(absl::string_view text) {
  return std::string(text.substr(0, 200));
}

// The peer as the log shows it: its certificate's URI SANs if it has any
// (as the TLS layer verified them), else its address.
std::string PeerOf(ServerRpcInfo* info) {
  grpc::ServerContextBase* context = info->server_context();
  if (context == nullptr) return "unknown";
  std::vector<std::string> uris;
  if (std::shared_ptr<const grpc::AuthContext> auth = context->auth_context()) {
    for (const grpc::string_ref& uri :
         auth->FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
      uris.push_back(Shown(absl::string_view(uri.data(), uri.size())));
    }
  }
  if (uris.empty()) return Shown(context->peer());
  return absl::StrJoin(uris, ",");
}

class CallLog final : public Interceptor {
 public:
  explicit CallLog(ServerRpcInfo* info) : info_(info), started_(absl::Now()) {}

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE)) {
      ++received_;
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      ++sent_;
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      Finished(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Finished(grpc::StatusCode code) const {
    const std::string method = MethodLabel(info_->method());
    const std::string latency = absl::StrFormat(
        "%.3f", absl::ToDoubleMilliseconds(absl::Now() - started_));
    const std::string code_name =
        absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
    if (code == grpc::StatusCode::UNIMPLEMENTED && !GoneBeforeItsRequest()) {
      LogWarning(
          "rpc",
          "call gRPC refused as UNIMPLEMENTED: an unknown method, "
          "request bytes that do not parse as its message, or a "
          "request that never arrived whole (its client gave up "
          "while this server was stalled)",
          {{"method", method},
           {"path", Shown(info_->method() == nullptr ? "?" : info_->method())},
           {"caller", PeerOf(info_)},
           {"code", code_name},
           {"latency_ms", latency}});
      return;
    }
    LogInfo("rpc", "call",
            {{"method", method},
             {"caller", PeerOf(info_)},
             {"code", code_name},
             {"latency_ms", latency},
             {"received", received_},
             {"sent", sent_}});
  }

  // A call cancelled, or past its deadline, before its request arrived
  // ends the same way (a stopped server resuming finds such calls): it is
  // not a request that did not parse.
  bool GoneBeforeItsRequest() const {
    grpc::ServerContextBase* context = info_->server_context();
    return context != nullptr &&
           (context->IsCancelled() ||
            context->deadline() <= std::chrono::system_clock::now());
  }

  ServerRpcInfo* const info_;
  const absl::Time started_;
  int received_ = 0;
  int sent_ = 0;
};

class CallLogFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new CallLog(info);
  }
};

}  // namespace

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

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
LogCalls() {
  return std::make_unique<CallLogFactory>();
}

}  // namespace deconfliction
