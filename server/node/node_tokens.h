// NodeTokens: a node's token machinery, from its configuration: the
// token-key bundle, a client per custodian and the BlindTokenizer over
// them. The server uses it, and so do the node's offline commands
// (--tokenize_csv).
#ifndef DECONFLICTION_SERVER_NODE_NODE_TOKENS_H_
#define DECONFLICTION_SERVER_NODE_NODE_TOKENS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "metrics/metrics.h"
#include "rpc/work_queue.h"
#include "server/node/blind_tokenizer.h"
#include "server/node/custodian_clients.h"

namespace deconfliction {

class NodeTokens {
 public:
  // `config` must have passed ValidateNodeConfig; `completions` and
  // `metrics` must outlive the result. FAILED_PRECONDITION naming the field for
  // an unreadable or invalid bundle, fewer custodians than its threshold, a
  // custodian it does not name, or unreadable certificate files.
  static absl::StatusOr<std::unique_ptr<NodeTokens>> Create(
      const config::v1::NodeConfig& config, WorkQueue* completions,
      MetricsRegistry* metrics);

  BlindTokenizer& tokenizer() const { return *tokenizer_; }
  CustodianClients& custodians() const { return *custodians_; }

 private:
  NodeTokens() = default;

  std::unique_ptr<CustodianClients> custodians_;
  std::unique_ptr<BlindTokenizer> tokenizer_;  // uses custodians_
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_NODE_TOKENS_H_
