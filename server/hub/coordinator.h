// Coordinator: what the coordination-centre hub does, free of gRPC. The
// Hub service (server/hub/hub_service.h) is a thin adapter over it; every
// outcome is an absl::Status whose code maps one-to-one onto gRPC's.
//
// Order of a Lookup: validate (INVALID_ARGUMENT) → the asker's query cap
// (RESOURCE_EXHAUSTED) → common identifiers are answered without asking
// anyone → AskAll with deadline HopDeadline(caller's deadline,
// node_timeout_ms) → merge: hits named by the answering node's certificate
// (the agency its link is configured for), silent entries replaced by the
// coordination centre (ShareHit) → the alerts the hits raise
// (AlertsForHit) and a recheck for each node that did not answer a
// registration, both durable in the outbox before the answer → one audit
// record, which holds the tokens asked about → `done`. A node that did not
// answer is listed, with its status, in `unanswered`. An answer whose alerts
// could not be kept, or that could not be audited, is not given (UNAVAILABLE or
// the audit's error).
//
// Threading: `done` runs exactly once: on a `writes` worker (or inline when
// that queue is full) when alerts or rechecks go to the outbox, whose write
// is synced; else on the thread where the nodes' last answer arrived, after
// the audit append, which waits for no disk flush.
#ifndef DECONFLICTION_SERVER_HUB_COORDINATOR_H_
#define DECONFLICTION_SERVER_HUB_COORDINATOR_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/storage/v1/records.pb.h"
#include "api/deconfliction/v1/federation.pb.h"
#include "base/clock.h"
#include "rpc/work_queue.h"
#include "security/identity.h"
#include "server/caps/query_caps.h"
#include "server/hub/alert_delivery.h"
#include "server/hub/hub_settings.h"
#include "server/hub/match_alerts.h"
#include "server/hub/node_links.h"
#include "server/hub/sharing_policy.h"
#include "storage/alert_outbox.h"

namespace deconfliction {

class Coordinator {
 public:
  template <typename Response>
  using Done = std::function<void(absl::StatusOr<Response>)>;

  // Everything must outlive the coordinator. Each lookup works with the
  // settings in force when it starts.
  Coordinator(const HubSettingsInForce* settings, NodeLinks* nodes,
              QueryCaps* caps, HubDatabase* database, WorkQueue* writes,
              AlertDelivery* delivery, Clock clock)
      : settings_(settings),
        nodes_(nodes),
        caps_(caps),
        database_(database),
        writes_(writes),
        delivery_(delivery),
        clock_(std::move(clock)) {}

  // The federated lookup of `caller` (an agency node), answered by
  // `deadline`.
  void Lookup(const v1::FederatedLookupRequest& request,
              const FederationIdentity& caller, absl::Time deadline,
              Done<v1::FederatedLookupResponse> done);

  // `caller`'s alerts waiting in the outbox. RESOURCE_EXHAUSTED when the
  // hub's work queue is full.
  void DeliveryStatus(const FederationIdentity& caller,
                      Done<v1::DeliveryStatusResponse> done);

  // Records `caller`'s audit chain head in the hub's trail (an anchor:
  // storage/audit_log.h). INVALID_ARGUMENT for a seq of 0 or a mac that is
  // not 32 bytes; RESOURCE_EXHAUSTED when the work queue is full. A head
  // that does not continue the agency's previous one (an older seq, or the
  // same seq with another mac: its trail was cut or restored) is recorded
  // too, and warned about in the log.
  void AnchorAudit(const v1::AnchorAuditRequest& request,
                   const FederationIdentity& caller,
                   Done<v1::AnchorAuditResponse> done);

  // A page (at most kRecoveredAlertsPerPage) of the alerts delivered to
  // `caller`'s node after request.after_cursor, for its recovery after a
  // restore. INVALID_ARGUMENT for a page token this hub did not give;
  // RESOURCE_EXHAUSTED when the work queue is full.
  void RecoverAlerts(const v1::RecoverAlertsRequest& request,
                     const FederationIdentity& caller,
                     Done<v1::RecoverAlertsResponse> done);
  static constexpr size_t kRecoveredAlertsPerPage = 100;

 private:
  // What a lookup leaves for delivery.
  struct Queued {
    std::vector<storage::v1::OutboxRecord> alerts;
    std::vector<storage::v1::RecheckRecord> rechecks;
  };
  // Merges the nodes' answers to `lookup` (whose query j is the request's
  // query asked[j]), shared as `policy` says, into `response` (one answer per
  // request query, the common ones already marked), `record` and `queued`.
  void Merge(const config::v1::SharingPolicy& policy, const MatchRequest& match,
             const std::vector<int>& asked,
             const v1::TokenLookupRequest& lookup,
             const std::vector<NodeAnswer>& answers,
             v1::FederatedLookupResponse* response,
             storage::v1::AuditRecord* record, Queued* queued) const;
  // Queues `queued` in the outbox and writes `record`, wakes delivery, then
  // calls `done` with `response` or the error (on a `writes` worker when
  // the outbox is written, else inline).
  void AuditAndFinish(storage::v1::AuditRecord record,
                      const absl::Status& status,
                      v1::FederatedLookupResponse response, Queued queued,
                      Done<v1::FederatedLookupResponse> done);

  const HubSettingsInForce* const settings_;
  NodeLinks* const nodes_;
  QueryCaps* const caps_;
  HubDatabase* const database_;
  WorkQueue* const writes_;
  AlertDelivery* const delivery_;
  const Clock clock_;
  // Each agency's newest anchor since the hub started.
  absl::Mutex anchors_mu_;
  absl::flat_hash_map<std::string, storage::v1::AuditAnchor> newest_anchor_
      ABSL_GUARDED_BY(anchors_mu_);
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_COORDINATOR_H_
