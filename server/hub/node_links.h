// How the hub reaches the agency nodes, free of gRPC: NodeLinks is the one
// path for every call the hub makes to a node (token lookups, rechecks and
// alert delivery), implemented over gRPC's callback API by NodeChannels
// (server/hub/node_channels.h) and by fakes in tests. AskAll fans one token
// lookup out to every node in parallel.
#ifndef DECONFLICTION_SERVER_HUB_NODE_LINKS_H_
#define DECONFLICTION_SERVER_HUB_NODE_LINKS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/deconfliction/v1/federation.pb.h"

namespace deconfliction {

class NodeLinks {
 public:
  template <typename Response>
  using Done = std::function<void(absl::StatusOr<Response>)>;
  virtual ~NodeLinks() = default;

  // The configured agencies, in configuration order (those in force now:
  // a reload may change them).
  virtual std::vector<std::string> agencies() const = 0;

  // Each call carries `deadline`. `done` runs exactly once: on a gRPC
  // thread when the node answers or the call fails, or inline (NOT_FOUND)
  // for an agency that is not configured. `done` must not block for long.
  virtual void LookupTokens(
      const std::string& agency,
      std::shared_ptr<const v1::TokenLookupRequest> request,
      absl::Time deadline, Done<v1::TokenLookupResponse> done) = 0;
  virtual void DeliverAlerts(const std::string& agency,
                             v1::DeliverAlertsRequest request,
                             absl::Time deadline,
                             Done<v1::DeliverAlertsResponse> done) = 0;
};

struct NodeAnswer {
  std::string agency_id;
  absl::Status status;  // OK, or why the node did not answer
  v1::TokenLookupResponse response;
};

// Asks every node but `skip_agency` (the asker answers for itself); with no
// queries, asks no one. `done` runs exactly once, with one NodeAnswer per
// node asked in configuration order, when every node has answered or
// failed: on the thread of the last completion, or inline when no one is
// asked.
void AskAll(NodeLinks& nodes,
            const std::shared_ptr<const v1::TokenLookupRequest>& request,
            absl::Time deadline, const std::string& skip_agency,
            std::function<void(std::vector<NodeAnswer>)> done);

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_NODE_LINKS_H_
