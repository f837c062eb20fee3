// Custodians: how a node reaches the token key's custodians. Implemented
// over gRPC by CustodianClients (server/node/custodian_clients.h), and by
// fakes in tests.
#ifndef DECONFLICTION_SERVER_NODE_CUSTODIANS_H_
#define DECONFLICTION_SERVER_NODE_CUSTODIANS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/deconfliction/v1/token_issuer.pb.h"

namespace deconfliction {

class Custodians {
 public:
  // `custodian` is a name from names().
  using AnswerDone =
      std::function<void(const std::string& custodian,
                         absl::StatusOr<v1::EvaluateResponse> answer)>;
  virtual ~Custodians() = default;
  // The custodians this node can reach, each named in the token-key bundle.
  virtual const std::vector<std::string>& names() const = 0;
  // Sends `request` to every custodian at once. `done` runs exactly once per
  // custodian, by `deadline` at the latest, on any thread (answers may
  // arrive concurrently).
  virtual void EvaluateEach(
      const std::shared_ptr<const v1::EvaluateRequest>& request,
      absl::Time deadline, const AnswerDone& done) = 0;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_CUSTODIANS_H_
