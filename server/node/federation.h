// Federation: how a node asks the rest of the federation, through the hub.
// Implemented over gRPC by HubClient (server/node/hub_client.h), and by
// fakes in tests.
#ifndef DECONFLICTION_SERVER_NODE_FEDERATION_H_
#define DECONFLICTION_SERVER_NODE_FEDERATION_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/deconfliction/v1/federation.pb.h"

namespace deconfliction {

class Federation {
 public:
  using Done = std::function<void(absl::StatusOr<v1::FederatedLookupResponse>)>;
  using StatusDone =
      std::function<void(absl::StatusOr<v1::DeliveryStatusResponse>)>;
  virtual ~Federation() = default;
  // `done` runs exactly once, by `deadline` at the latest, on any thread:
  // gRPC's too, so it must not block (hand storage writes to a WorkQueue).
  virtual void Lookup(v1::FederatedLookupRequest request, absl::Time deadline,
                      Done done) = 0;
  // The hub's outbox for this agency. `done` as for Lookup.
  virtual void DeliveryStatus(absl::Time deadline, StatusDone done) = 0;
  // Records the node's audit chain head at the hub. `done` as for Lookup.
  virtual void AnchorAudit(v1::AnchorAuditRequest request, absl::Time deadline,
                           std::function<void(absl::Status)> done) = 0;
  // A page of the alerts the hub delivered here, for the recovery after a
  // restore (server/node/alert_recovery.h). `done` as for Lookup.
  virtual void RecoverAlerts(
      v1::RecoverAlertsRequest request, absl::Time deadline,
      std::function<void(absl::StatusOr<v1::RecoverAlertsResponse>)> done) = 0;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_FEDERATION_H_
