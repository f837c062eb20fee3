#include "server/hub/node_links.h"

#include <atomic>
#include <utility>

namespace deconfliction {
namespace {

// What the calls of one AskAll share; freed when the last call completes.
struct Round {
  std::vector<NodeAnswer> answers;
  std::atomic<size_t> pending{0};
  std::function<void(std::vector<NodeAnswer>)> done;
};

}  // namespace

void AskAll(NodeLinks& nodes,
            const std::shared_ptr<const v1::TokenLookupRequest>& request,
            absl::Time deadline, const std::string& skip_agency,
            std::function<void(std::vector<NodeAnswer>)> done) {
  std::vector<std::string> asked;
  for (const std::string& agency : nodes.agencies()) {
    if (agency != skip_agency) asked.push_back(agency);
  }
  // Nothing to ask (no other node, or every query answered by the hub).
  if (asked.empty() || request->queries().empty()) {
    done({});
    return;
  }
  auto round = std::make_shared<Round>();
  round->done = std::move(done);
  round->answers.resize(asked.size());
  round->pending = asked.size();
  for (size_t i = 0; i < asked.size(); ++i) {
    round->answers[i].agency_id = asked[i];
    nodes.LookupTokens(
        asked[i], request, deadline,
        [round, i](absl::StatusOr<v1::TokenLookupResponse> answer) {
          if (answer.ok()) {
            round->answers[i].response = *std::move(answer);
          } else {
            round->answers[i].status = answer.status();
          }
          if (round->pending.fetch_sub(1) == 1) {
            round->done(std::move(round->answers));
          }
        });
  }
}

}  // namespace deconfliction
