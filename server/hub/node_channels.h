// NodeChannels: NodeLinks over gRPC. One long-lived mutual-TLS channel per
// configured node (rpc/channels.h), each accepting only the certificate of
// the agency it is configured for, so the agency named in an answer is the
// one the certificate proves. Calls use gRPC's callback API: no thread
// waits on a node. A reload replaces the nodes (Update) while calls are in
// flight: each finishes on the channel it started on.
//
// Every call is counted and timed per node (metrics below), and a node's
// outages and recoveries are logged: a call failing UNAVAILABLE or
// DEADLINE_EXCEEDED marks its node unreachable (one warning), the next
// call it answers marks it reachable again (one line, with how long it was
// out). While a node is unreachable, token lookups ask it with a deadline
// of at most limits.hung_node_timeout_ms: a hung node (one that accepts
// calls and never answers) costs each lookup that, not the whole
// node_timeout_ms, and answers as soon as it is back within it.
//
//   deconfliction_hub_node_call_seconds{agency, method}   histogram
//   deconfliction_hub_node_call_failures_total{agency, method, code}
//   deconfliction_hub_node_reachable{agency}   1, or 0 while unreachable
//
// Thread safety: all methods may be called from any thread.
#ifndef DECONFLICTION_SERVER_HUB_NODE_CHANNELS_H_
#define DECONFLICTION_SERVER_HUB_NODE_CHANNELS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/federation.grpc.pb.h"
#include "metrics/metrics.h"
#include "server/hub/node_links.h"

namespace deconfliction {

class NodeChannels final : public NodeLinks {
 public:
  // FAILED_PRECONDITION for unreadable certificate files. `metrics` must
  // outlive the channels.
  static absl::StatusOr<std::unique_ptr<NodeChannels>> Create(
      const config::v1::HubConfig& config, MetricsRegistry* metrics);

  // Connects to the nodes `config` lists in place of those in force: a node
  // whose address is unchanged keeps its channel, a new node or a new
  // address gets one, a node no longer listed is dropped. FAILED_PRECONDITION
  // for unreadable certificate files, and nothing changes.
  absl::Status Update(const config::v1::HubConfig& config);

  std::vector<std::string> agencies() const override;
  void LookupTokens(const std::string& agency,
                    std::shared_ptr<const v1::TokenLookupRequest> request,
                    absl::Time deadline,
                    Done<v1::TokenLookupResponse> done) override;
  void DeliverAlerts(const std::string& agency,
                     v1::DeliverAlertsRequest request, absl::Time deadline,
                     Done<v1::DeliverAlertsResponse> done) override;

 private:
  struct Link {
    std::string address;
    std::shared_ptr<v1::NodeFederation::Stub> stub;
  };

  explicit NodeChannels(MetricsRegistry* metrics);

  // `done`, after counting and timing the call to `agency`'s node and
  // noting whether the node is reachable.
  template <typename Response>
  Done<Response> Observed(const std::string& agency, const char* method,
                          Done<Response> done);
  void Finished(const std::string& agency, const char* method,
                absl::Duration took, const absl::Status& status);

  // nullptr for an agency that is not configured.
  std::shared_ptr<v1::NodeFederation::Stub> StubFor(
      const std::string& agency) const;
  // `deadline`, shortened to limits.hung_node_timeout_ms from now while
  // `agency`'s node is unreachable.
  absl::Time LookupDeadline(const std::string& agency,
                            absl::Time deadline) const;

  mutable absl::Mutex mu_;
  std::vector<std::string> agencies_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Link> links_ ABSL_GUARDED_BY(mu_);
  absl::Duration hung_node_timeout_ ABSL_GUARDED_BY(mu_);

  HistogramFamily* const call_seconds_;
  CounterFamily* const failures_;
  mutable absl::Mutex outages_mu_;
  // The agencies whose node is unreachable, since when.
  std::map<std::string, absl::Time> unreachable_since_
      ABSL_GUARDED_BY(outages_mu_);
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_NODE_CHANNELS_H_
