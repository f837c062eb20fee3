// The custodian's gRPC service, TokenIssuer: a thin callback-API adapter
// over the Custodian. The caller's identity comes from its verified
// certificate; the evaluation runs on a bounded WorkQueue (a full queue
// answers RESOURCE_EXHAUSTED at once). Who may call is decided before any
// handler runs, by the custodian's authorization policy.
#ifndef DECONFLICTION_SERVER_CUSTODIAN_TOKEN_ISSUER_SERVICE_H_
#define DECONFLICTION_SERVER_CUSTODIAN_TOKEN_ISSUER_SERVICE_H_

#include "api/deconfliction/v1/token_issuer.grpc.pb.h"
#include "rpc/work_queue.h"
#include "server/custodian/custodian.h"

namespace deconfliction {

class TokenIssuerService final : public v1::TokenIssuer::CallbackService {
 public:
  // Both must outlive the service.
  TokenIssuerService(Custodian* custodian, WorkQueue* queue)
      : custodian_(custodian), queue_(queue) {}

  grpc::ServerUnaryReactor* Evaluate(grpc::CallbackServerContext* context,
                                     const v1::EvaluateRequest* request,
                                     v1::EvaluateResponse* response) override;

 private:
  Custodian* const custodian_;
  WorkQueue* const queue_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_CUSTODIAN_TOKEN_ISSUER_SERVICE_H_
