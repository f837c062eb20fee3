// Custodian: what a custodian does, free of gRPC. It evaluates an agency
// node's blinded elements with its share of the token key and proves, with
// one batched RFC 9497 DLEQ proof, that it used the share behind its public
// share. It sees no identifier and no token: a blinded element is uniformly
// random to it.
//
// Order of an Evaluate: epoch (FAILED_PRECONDITION when the node asks for a
// key this share is not of) → size (INVALID_ARGUMENT: none, or over
// limits.max_elements_per_request) → every element (INVALID_ARGUMENT naming
// blinded_elements[i]: wrong size, not canonical, the identity) → the
// agency's cap (RESOURCE_EXHAUSTED) → evaluation and proof. Every call,
// refused or not, is appended to the custodian's audit trail (caller, count,
// outcome); an evaluation that cannot be audited is not given. Every call
// also counts its elements in
// deconfliction_custodian_evaluated_elements_total{agency, code}.
//
// Thread safety: Evaluate may be called concurrently.
#ifndef DECONFLICTION_SERVER_CUSTODIAN_CUSTODIAN_H_
#define DECONFLICTION_SERVER_CUSTODIAN_CUSTODIAN_H_

#include "absl/status/statusor.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/keys/v1/keys.pb.h"
#include "api/deconfliction/v1/token_issuer.pb.h"
#include "base/clock.h"
#include "metrics/metrics.h"
#include "oprf/group.h"
#include "security/identity.h"
#include "server/caps/query_caps.h"
#include "storage/audit_log.h"

namespace deconfliction {

class Custodian {
 public:
  // `share` must have passed LoadShare; it is copied and its secret wiped
  // from the copy kept here when the custodian is destroyed. `config`,
  // `caps`, `audit` and `metrics` must outlive the custodian. INVALID_ARGUMENT
  // for a share whose secret is not a scalar.
  static absl::StatusOr<std::unique_ptr<Custodian>> Create(
      const config::v1::CustodianConfig* config,
      const keys::v1::KeyShareFile& share, QueryCaps* caps, AuditLog* audit,
      MetricsRegistry* metrics, Clock clock);

  absl::StatusOr<v1::EvaluateResponse> Evaluate(
      const v1::EvaluateRequest& request, const FederationIdentity& caller);

  // share * G, what nodes check the proofs against.
  const oprf::Element& public_share() const { return public_share_; }

 private:
  Custodian(const config::v1::CustodianConfig* config,
            const keys::v1::KeyShareFile& share,
            const oprf::SecretScalar& secret, oprf::Element public_share,
            QueryCaps* caps, AuditLog* audit, CounterFamily* evaluated,
            Clock clock);
  absl::StatusOr<v1::EvaluateResponse> Answer(
      const v1::EvaluateRequest& request, const FederationIdentity& caller);

  const config::v1::CustodianConfig* const config_;
  const std::string epoch_;
  const uint32_t index_;
  const uint32_t generation_;
  const oprf::SecretScalar secret_;
  const oprf::Element public_share_;
  oprf::Element generator_{};
  QueryCaps* const caps_;
  AuditLog* const audit_;
  CounterFamily* const evaluated_;
  const Clock clock_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_CUSTODIAN_CUSTODIAN_H_
