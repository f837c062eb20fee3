#include "rpc/unparsable_calls.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/server_context.h>

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
            grpc::StatusCode::UNIMPLEMENTED) {
      std::fprintf(
          stderr,
          "WARNING UNIMPLEMENTED %s from %s (an unknown method, or "
          "request bytes that do not parse as its message)\n",
          Shown(info_->method() == nullptr ? "?" : info_->method()).c_str(),
          PeerOf(info_).c_str());
    }
    methods->Proceed();
  }

 private:
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
