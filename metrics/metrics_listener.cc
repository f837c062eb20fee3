#include "metrics/metrics_listener.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace deconfliction {
namespace {

constexpr size_t kMaxRequestBytes = size_t{8} * 1024;
constexpr time_t kReadTimeoutSeconds = 5;
constexpr size_t kKeepAliveRequests = 100;

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsListener>> MetricsListener::Start(
    const std::string& listen_address, const MetricsRegistry* registry) {
  const size_t colon = listen_address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(listen_address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics.listen_address: \"",
                                                   listen_address.substr(0, 64),
                                                   "\" is not host:port"));
  }
  std::string host = listen_address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]
  }
  std::unique_ptr<MetricsListener> listener(new MetricsListener());
  listener->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *listener->server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  server.set_payload_max_length(kMaxRequestBytes);
  server.set_read_timeout(kReadTimeoutSeconds, 0);
  server.set_keep_alive_max_count(kKeepAliveRequests);
  // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, which would
  // let a second server share a port already in use instead of failing.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.Get("/metrics", [registry](const httplib::Request& /*request*/,
                                    httplib::Response& response) {
    response.set_content(registry->Exposition(),
                         "text/plain; version=0.0.4; charset=utf-8");
  });
  if (port == 0) {
    port = server.bind_to_any_port(host);
  } else if (!server.bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "metrics.listen_address: cannot listen on ", listen_address));
  }
  listener->port_ = port;
  listener->thread_ = std::thread([&server] { server.listen_after_bind(); });
  // Serving when Start returns (and stop() only takes effect once it is).
  while (!server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return listener;
}

MetricsListener::~MetricsListener() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace deconfliction
