// Who may call what. Policies are written in gRPC's SDK authorization-policy
// JSON and enforced for every call before any handler runs, from the
// verified peer certificate's SPIFFE ID, never from request fields. A denied
// call fails with PERMISSION_DENIED.
//
// Enforcement runs in gRPC's server authentication hook
// (grpc::AuthMetadataProcessor): this platform's gRPC build does not ship
// gRPC's own policy provider library, so the same policy format is evaluated
// here; moving to gRPC's provider needs no policy change.
//
// Node (DESIGN.md "Trust model"):
//   spiffe://<fed>/agency/<own>/user/*  Registry, Deconfliction, Alerts,
//                                       server reflection
//   spiffe://<fed>/hub                  NodeFederation
//   any certificate of the federation   gRPC health checking
//   anyone else                         nothing
//
// Hub:
//   spiffe://<fed>/agency/<id>/node     Hub and server reflection, for each
//                                       configured node
//   any certificate of the federation   gRPC health checking
//   anyone else (users included)        nothing
//
// Custodian:
//   spiffe://<fed>/agency/<id>/node     TokenIssuer and server reflection,
//                                       for each configured agency
//   any certificate of the federation   gRPC health checking
//   anyone else (users, the hub, other  nothing
//   custodians)
#ifndef DECONFLICTION_SECURITY_AUTHORIZATION_H_
#define DECONFLICTION_SECURITY_AUTHORIZATION_H_

#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "api/deconfliction/config/v1/config.pb.h"

namespace deconfliction {

class RevocationList;

// The node's policy, as JSON.
std::string NodeAuthorizationPolicy(absl::string_view federation,
                                    absl::string_view agency_id);

// The hub's policy, as JSON: only the listed agencies' nodes may call it.
std::string HubAuthorizationPolicy(absl::string_view federation,
                                   const std::vector<std::string>& agencies);

// A custodian's policy, as JSON: only the listed agencies' nodes may ask it
// for evaluations.
std::string CustodianAuthorizationPolicy(
    absl::string_view federation, absl::string_view custodian,
    const std::vector<std::string>& agencies);

class AuthorizationEngine {
 public:
  // INVALID_ARGUMENT when `json` is not a policy (unknown fields, a pattern
  // with '*' other than at its end, no allow rules).
  static absl::StatusOr<AuthorizationEngine> FromJson(absl::string_view json);

  // OK when `principal` (a SPIFFE ID; empty if the peer has none) may call
  // `path`; PERMISSION_DENIED naming both otherwise.
  absl::Status Authorize(absl::string_view principal,
                         absl::string_view path) const;

 private:
  explicit AuthorizationEngine(config::v1::AuthorizationPolicy policy)
      : policy_(std::move(policy)) {}
  config::v1::AuthorizationPolicy policy_;
};

// The policy a server enforces, which a configuration reload may replace
// while it serves (the hub's agencies, a custodian's). Each call is checked
// against the policy in force when it arrives.
//
// Thread safety: all methods may be called concurrently.
class EnforcedPolicy {
 public:
  // INVALID_ARGUMENT for a bad policy (AuthorizationEngine::FromJson).
  static absl::StatusOr<std::shared_ptr<EnforcedPolicy>> FromJson(
      absl::string_view json);

  // Puts `json` in force, or INVALID_ARGUMENT (the policy in force stays).
  absl::Status Replace(absl::string_view json);

  absl::Status Authorize(absl::string_view principal,
                         absl::string_view path) const;

 private:
  explicit EnforcedPolicy(AuthorizationEngine engine)
      : engine_(std::move(engine)) {}
  mutable absl::Mutex mu_;
  AuthorizationEngine engine_ ABSL_GUARDED_BY(mu_);
};

// A processor for grpc::ServerCredentials::SetAuthMetadataProcessor that
// enforces `policy` on every call, after refusing with UNAUTHENTICATED the
// calls of a peer whose certificate `revocations` revokes (checked per call
// against the current list, so a revocation holds within
// kRevocationPollInterval on connections already open; no check when
// nullptr).
std::shared_ptr<grpc::AuthMetadataProcessor> EnforceAuthorization(
    std::shared_ptr<const EnforcedPolicy> policy,
    std::shared_ptr<const RevocationList> revocations);

// A federation server's credentials: mutual TLS from `tls`
// (MutualTlsServerCredentials), whose certificate must name `own_id`, with
// `policy` and tls.crl_dir's revocations (RevocationList::Watch) enforced
// on every call. FAILED_PRECONDITION for bad files or a certificate of
// another identity (naming both).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
FederationServerCredentials(const config::v1::TlsFiles& tls,
                            const std::string& own_id,
                            std::shared_ptr<const EnforcedPolicy> policy);

}  // namespace deconfliction

#endif  // DECONFLICTION_SECURITY_AUTHORIZATION_H_
