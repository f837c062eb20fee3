// NodeClient: the CLI's connection to its own agency's node. One channel,
// mutual TLS, the node's identity checked against the profile, and a
// deadline on every call.
#ifndef DECONFLICTION_CLIENT_NODE_CLIENT_H_
#define DECONFLICTION_CLIENT_NODE_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/deconfliction.grpc.pb.h"

namespace deconfliction {

// Default per-call deadline when the profile sets none.
inline constexpr uint32_t kDefaultDeadlineSeconds = 10;

// Fills defaults and checks a profile: INVALID_ARGUMENT naming the missing
// or malformed field (and the flag that sets it).
absl::Status ValidateProfile(config::v1::ClientProfile* profile);

inline constexpr absl::Duration kWatchHeartbeat = absl::Seconds(10);
inline constexpr absl::Duration kWatchSilence = absl::Seconds(35);

class NodeClient {
 public:
  // `profile` must have passed ValidateProfile. FAILED_PRECONDITION for
  // unreadable certificate files.
  static absl::StatusOr<std::unique_ptr<NodeClient>> Connect(
      const config::v1::ClientProfile& profile);

  absl::StatusOr<v1::RegisterResponse> Register(
      const v1::RegisterRequest& request);
  absl::StatusOr<v1::CheckResponse> Check(const v1::CheckRequest& request);
  absl::StatusOr<v1::CloseCaseResponse> CloseCase(
      const v1::CloseCaseRequest& request);
  absl::StatusOr<v1::Case> GetCase(const v1::GetCaseRequest& request);
  absl::StatusOr<v1::ListCasesResponse> ListCases(
      const v1::ListCasesRequest& request);

  absl::StatusOr<v1::AcknowledgeResponse> Acknowledge(
      const v1::AcknowledgeRequest& request);
  absl::StatusOr<v1::AlertStatusResponse> AlertStatus();

  // Watches alerts after `after_cursor` until `deadline`, calling
  // `on_alert` for each (heartbeats, asked for every kWatchHeartbeat, are
  // not passed on); `on_alert` returns false to stop. Returns OK when
  // stopped by `on_alert` or by reaching the deadline; UNAVAILABLE when the
  // stream was silent for kWatchSilence. With `wait_for_node`, the call
  // waits for the node to be reachable instead of failing at once.
  absl::Status Watch(uint64_t after_cursor, absl::Time deadline,
                     bool wait_for_node,
                     const std::function<bool(const v1::Alert&)>& on_alert);

  // Streams a bulk job through CheckBulk within `deadline`: `next_chunk`
  // fills the next chunk and returns false when there is none;
  // `on_answer` sees each answer in order. Memory stays bounded by gRPC's
  // flow control whatever the job's size.
  absl::Status CheckBulk(
      const std::function<bool(v1::CheckRequest*)>& next_chunk,
      const std::function<void(const v1::CheckResponse&)>& on_answer,
      absl::Duration deadline);

 private:
  NodeClient(std::shared_ptr<grpc::Channel> channel, absl::Duration deadline);
  void SetDeadline(grpc::ClientContext* context) const;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Registry::Stub> registry_;
  std::unique_ptr<v1::Deconfliction::Stub> deconfliction_;
  std::unique_ptr<v1::Alerts::Stub> alerts_;
  absl::Duration deadline_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_CLIENT_NODE_CLIENT_H_
