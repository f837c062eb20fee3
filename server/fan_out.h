// FanOut: the hub's parallel token lookup across every agency node. One
// mutual-TLS channel per node (server/channels.h), each accepting only the
// certificate of the agency it is configured for, so the agency named in an
// answer is the one the certificate proves. Calls use gRPC's callback API:
// no thread waits on a node.
//
// Thread safety: Lookup may be called from any thread.
#ifndef DECONFLICTION_SERVER_FAN_OUT_H_
#define DECONFLICTION_SERVER_FAN_OUT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/federation.grpc.pb.h"

namespace deconfliction {

struct NodeAnswer {
  std::string agency_id;
  absl::Status status;  // OK, or why the node did not answer
  v1::TokenLookupResponse response;
};

class FanOut {
 public:
  // FAILED_PRECONDITION for unreadable certificate files.
  static absl::StatusOr<std::unique_ptr<FanOut>> Create(
      const config::v1::HubConfig& config);

  // Asks every node but `skip_agency` (the asker answers for itself); with
  // no queries, asks no one.
  // Each call carries `deadline`; `done` runs exactly once, on a gRPC
  // thread, when every node has answered or failed, with one NodeAnswer
  // per node asked, in configuration order.
  void Lookup(v1::TokenLookupRequest request, absl::Time deadline,
              const std::string& skip_agency,
              std::function<void(std::vector<NodeAnswer>)> done);

  // The stub on `agency`'s channel (for alert delivery and rechecks), or
  // nullptr for an agency that is not configured.
  v1::NodeFederation::Stub* StubFor(const std::string& agency) const;

 private:
  struct Node {
    std::string agency_id;
    std::unique_ptr<v1::NodeFederation::Stub> stub;
  };
  explicit FanOut(std::vector<Node> nodes) : nodes_(std::move(nodes)) {}

  std::vector<Node> nodes_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_FAN_OUT_H_
