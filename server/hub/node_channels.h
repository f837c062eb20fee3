// NodeChannels: NodeLinks over gRPC. One long-lived mutual-TLS channel per
// configured node (rpc/channels.h), each accepting only the certificate of
// the agency it is configured for, so the agency named in an answer is the
// one the certificate proves. Calls use gRPC's callback API: no thread
// waits on a node. A reload replaces the nodes (Update) while calls are in
// flight: each finishes on the channel it started on.
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
#include "server/hub/node_links.h"

namespace deconfliction {

class NodeChannels final : public NodeLinks {
 public:
  // FAILED_PRECONDITION for unreadable certificate files.
  static absl::StatusOr<std::unique_ptr<NodeChannels>> Create(
      const config::v1::HubConfig& config);

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

  NodeChannels() = default;
  // nullptr for an agency that is not configured.
  std::shared_ptr<v1::NodeFederation::Stub> StubFor(
      const std::string& agency) const;

  mutable absl::Mutex mu_;
  std::vector<std::string> agencies_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Link> links_ ABSL_GUARDED_BY(mu_);
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_NODE_CHANNELS_H_
