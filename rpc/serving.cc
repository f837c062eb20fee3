#include "rpc/serving.h"

#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "rpc/call_log.h"

namespace deconfliction {

absl::StatusOr<Serving> StartServing(
    grpc::ServerBuilder* builder, const std::string& listen_address,
    const std::shared_ptr<grpc::ServerCredentials>& credentials,
    uint32_t max_message_bytes, const std::vector<std::string>& services,
    Interceptors interceptors) {
  grpc::EnableDefaultHealthCheckService(true);
  int port = 0;
  builder->AddListeningPort(listen_address, credentials, &port);
  builder->SetMaxReceiveMessageSize(static_cast<int>(max_message_bytes));
  // gRPC binds with SO_REUSEPORT by default, which lets a second server
  // start on a port already served and take half of the new connections.
  builder->AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  interceptors.insert(interceptors.begin(), LogCalls());
  builder->experimental().SetInterceptorCreators(std::move(interceptors));
  // FederationChannel peers ping every 30 s, also without calls.
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  std::unique_ptr<grpc::Server> server = builder->BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("listen_address: cannot listen on ", listen_address));
  }
  if (auto* health = server->GetHealthCheckService()) {
    for (const std::string& service : services) {
      health->SetServingStatus(service, true);
    }
  }
  return Serving(std::move(server), port, services);
}

void Serving::FollowHealth(std::function<absl::Status()> probe) {
  grpc::HealthCheckServiceInterface* health =
      server_ == nullptr ? nullptr : server_->GetHealthCheckService();
  if (health == nullptr) return;
  health_probe_ = std::make_unique<Periodic>(
      kHealthProbeInterval,
      [health, services = services_, probe = std::move(probe),
       failing = false]() mutable {
        const absl::Status status = probe();
        if (status.ok() == !failing) return;
        failing = !status.ok();
        if (failing) {
          LogError("server", "storage unusable: health is NOT_SERVING",
                   {{"reason", std::string(status.message())}});
        } else {
          LogInfo("server", "storage usable again: health is SERVING");
        }
        health->SetServingStatus(!failing);
        for (const std::string& service : services) {
          health->SetServingStatus(service, !failing);
        }
      });
}

void Serving::Stop(absl::Duration grace) {
  health_probe_.reset();
  if (server_ == nullptr) return;
  if (auto* health = server_->GetHealthCheckService()) health->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoNanoseconds(grace));
  server_->Wait();
  server_.reset();
}

}  // namespace deconfliction
