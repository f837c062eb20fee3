#include "server/fan_out.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "security/identity.h"
#include "security/tls.h"
#include "server/channels.h"
#include "server/grpc_status.h"

namespace deconfliction {
namespace {

// What the calls of one Lookup share; freed when the last call completes.
struct Round {
  v1::TokenLookupRequest request;
  std::vector<NodeAnswer> answers;
  std::unique_ptr<grpc::ClientContext[]> contexts;
  std::atomic<size_t> pending{0};
  std::function<void(std::vector<NodeAnswer>)> done;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FanOut>> FanOut::Create(
    const config::v1::HubConfig& config) {
  std::vector<Node> nodes;
  for (int i = 0; i < config.nodes_size(); ++i) {
    const config::v1::FederationNode& node = config.nodes(i);
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        MutualTlsChannelCredentials(
            config.tls(), "tls",
            NodeSpiffeId(config.federation(), node.agency_id()));
    if (!credentials.ok()) return credentials.status();
    nodes.push_back(
        {node.agency_id(), v1::NodeFederation::NewStub(FederationChannel(
                               node.address(), *credentials))});
  }
  return std::unique_ptr<FanOut>(new FanOut(std::move(nodes)));
}

v1::NodeFederation::Stub* FanOut::StubFor(const std::string& agency) const {
  for (const Node& node : nodes_) {
    if (node.agency_id == agency) return node.stub.get();
  }
  return nullptr;
}

void FanOut::Lookup(v1::TokenLookupRequest request, absl::Time deadline,
                    const std::string& skip_agency,
                    std::function<void(std::vector<NodeAnswer>)> done) {
  auto round = std::make_shared<Round>();
  round->request = std::move(request);
  round->done = std::move(done);
  std::vector<Node*> asked;
  for (Node& node : nodes_) {
    if (node.agency_id != skip_agency) asked.push_back(&node);
  }
  // Nothing to ask (no other node, or every query answered by the hub).
  if (asked.empty() || round->request.queries().empty()) {
    round->done({});
    return;
  }
  round->answers.resize(asked.size());
  round->contexts = std::make_unique<grpc::ClientContext[]>(asked.size());
  round->pending = asked.size();
  for (size_t i = 0; i < asked.size(); ++i) {
    round->answers[i].agency_id = asked[i]->agency_id;
    round->contexts[i].set_deadline(absl::ToChronoTime(deadline));
    asked[i]->stub->async()->LookupTokens(
        &round->contexts[i], &round->request, &round->answers[i].response,
        [round, i](grpc::Status status) {
          round->answers[i].status = FromGrpcStatus(status);
          if (round->pending.fetch_sub(1) == 1) {
            round->done(std::move(round->answers));
          }
        });
  }
}

}  // namespace deconfliction
