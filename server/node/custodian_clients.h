// CustodianClients: a node's connections to the token key's custodians, the
// Custodians (server/node/custodians.h) over gRPC. One long-lived
// mutual-TLS channel per custodian (rpc/channels.h), each accepting only
// that custodian's certificate (spiffe://<federation>/custodian/<name>).
// Answers complete on the node's WorkQueue (inline when it is full), where
// the tokenizer checks their proofs. Destroying the clients waits for the
// calls in flight, each bounded by its deadline, to complete.
#ifndef DECONFLICTION_SERVER_NODE_CUSTODIAN_CLIENTS_H_
#define DECONFLICTION_SERVER_NODE_CUSTODIAN_CLIENTS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/token_issuer.grpc.pb.h"
#include "rpc/work_queue.h"
#include "server/node/custodians.h"

namespace deconfliction {

class CustodianClients final : public Custodians {
 public:
  // One client per `config.token_key.custodians`. `completions` must
  // outlive the clients. FAILED_PRECONDITION for unreadable certificate
  // files.
  static absl::StatusOr<std::unique_ptr<CustodianClients>> Create(
      const config::v1::NodeConfig& config, WorkQueue* completions);

  // Connects to the custodians' addresses in `config` in place of those in
  // force (a reload); calls in flight finish on the channels they started
  // on. FAILED_PRECONDITION when the custodians are not the same ones in
  // the same order, or for unreadable certificate files; then nothing
  // changes.
  absl::Status Connect(const config::v1::NodeConfig& config);

  ~CustodianClients() override;
  CustodianClients(const CustodianClients&) = delete;
  CustodianClients& operator=(const CustodianClients&) = delete;

  const std::vector<std::string>& names() const override { return names_; }
  void EvaluateEach(const std::shared_ptr<const v1::EvaluateRequest>& request,
                    absl::Time deadline, const AnswerDone& done) override;

 private:
  explicit CustodianClients(WorkQueue* completions)
      : completions_(completions) {}

  std::vector<std::string> names_;  // fixed at Create
  WorkQueue* const completions_;
  absl::Mutex mu_;
  std::vector<std::shared_ptr<v1::TokenIssuer::Stub>> stubs_
      ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_CUSTODIAN_CLIENTS_H_
