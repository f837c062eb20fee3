// The hub's gRPC service: a federated lookup fans out to every other node
// in parallel (FanOut), and the answers are merged under the sharing policy
// and audited before the call finishes.
//
// Order of a Lookup: validate (INVALID_ARGUMENT) → the asker's query cap
// (RESOURCE_EXHAUSTED) → common identifiers are answered without asking
// anyone → fan-out with deadline min(caller's deadline − 100 ms, now +
// node_timeout_ms) → merge: hits named by the answering node's certificate,
// silent entries replaced by the coordination centre → one audit record →
// finish. A node that did not answer is listed, with its status, in
// `unanswered`.
#ifndef DECONFLICTION_SERVER_HUB_SERVICE_H_
#define DECONFLICTION_SERVER_HUB_SERVICE_H_

#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/federation.grpc.pb.h"
#include "server/alert_delivery.h"
#include "server/fan_out.h"
#include "server/sharing_policy.h"
#include "server/work_queue.h"
#include "storage/hub_store.h"
#include "storage/node_store.h"

namespace deconfliction {

class HubService final : public v1::Hub::CallbackService {
 public:
  // Everything must outlive the service.
  HubService(const config::v1::HubConfig* config, FanOut* fan_out,
             QueryCaps* caps, const CommonIdentifiers* common, HubStore* store,
             WorkQueue* audit_queue, AlertDelivery* delivery, Clock clock)
      : config_(config),
        fan_out_(fan_out),
        caps_(caps),
        common_(common),
        store_(store),
        audit_queue_(audit_queue),
        delivery_(delivery),
        clock_(std::move(clock)) {}

  grpc::ServerUnaryReactor* Lookup(
      grpc::CallbackServerContext* context,
      const v1::FederatedLookupRequest* request,
      v1::FederatedLookupResponse* response) override;
  // The asking agency's alerts waiting in the outbox.
  grpc::ServerUnaryReactor* DeliveryStatus(
      grpc::CallbackServerContext* context,
      const v1::DeliveryStatusRequest* request,
      v1::DeliveryStatusResponse* response) override;

 private:
  // What a lookup leaves for delivery.
  struct Queued {
    std::vector<storage::v1::OutboxRecord> alerts;
    std::vector<storage::v1::RecheckRecord> rechecks;
  };
  // Queues `queued` in the outbox and writes `record` (on the audit queue
  // when it has room, else inline: neither is ever dropped), wakes delivery,
  // then finishes the call.
  void AuditAndFinish(grpc::ServerUnaryReactor* reactor,
                      storage::v1::AuditRecord record, absl::Status status,
                      Queued queued = {});

  const config::v1::HubConfig* const config_;
  FanOut* const fan_out_;
  QueryCaps* const caps_;
  const CommonIdentifiers* const common_;
  HubStore* const store_;
  WorkQueue* const audit_queue_;
  AlertDelivery* const delivery_;
  const Clock clock_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_SERVICE_H_
