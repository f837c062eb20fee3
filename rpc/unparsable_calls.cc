#include "rpc/unparsable_calls.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/server_context.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "base/untrusted_text.h"

namespace deconfliction {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::Interceptor;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

// Text from the call, as the log shows it: escaped, at most 200 bytes.
std::string Shown(absl::string_view text) {
  return EscapeForTerminal(text.substr(0, 200));
}

// The peer as the log shows it: its certificate's URI SANs if it has any
// (as the TLS layer verified them), else its address.
std::string PeerOf(ServerRpcInfo* info) {
  grpc::ServerContextBase* context = info->server_context();
  if (context == nullptr) return "an unknown peer";
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

class UnparsableCallLog final : public Interceptor {
 public:
  explicit UnparsableCallLog(ServerRpcInfo* info) : info_(info) {}

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS) &&
        methods->GetSendStatus().error_code() ==
            grpc::StatusCode::UNIMPLEMENTED &&
        !GoneBeforeItsRequest()) {
      std::fprintf(
          stderr,
          "WARNING UNIMPLEMENTED %s from %s (an unknown method, request "
          "bytes that do not parse as its message, or a request that never "
          "arrived whole: its client gave up while this server was "
          "stalled)\n",
          Shown(info_->method() == nullptr ? "?" : info_->method()).c_str(),
          PeerOf(info_).c_str());
    }
    methods->Proceed();
  }

 private:
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
};

class UnparsableCallLogFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new UnparsableCallLog(info);
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
LogUnparsableCalls() {
  return std::make_unique<UnparsableCallLogFactory>();
}

}  // namespace deconfliction
