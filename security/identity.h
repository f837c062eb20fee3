// Federation identities: the SPIFFE-style URI SAN that every certificate of
// the federation carries, and the one place that reads it from a verified
// peer.
//   spiffe://<federation>/hub
//   spiffe://<federation>/agency/<agency-id>/node
//   spiffe://<federation>/agency/<agency-id>/user/<name>
//   spiffe://<federation>/custodian/<name>
#ifndef DECONFLICTION_SECURITY_IDENTITY_H_
#define DECONFLICTION_SECURITY_IDENTITY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace grpc {
class AuthContext;
}

namespace deconfliction {

struct FederationIdentity {
  enum class Role { kHub, kNode, kUser, kCustodian };
  Role role = Role::kUser;
  std::string federation;
  std::string agency_id;  // only for kNode and kUser
  std::string user;       // only for kUser
  std::string custodian;  // only for kCustodian
  std::string uri;        // the whole SPIFFE ID
};

// INVALID_ARGUMENT naming `field` unless `id` is a lower-case DNS name.
absl::Status ValidateFederationName(absl::string_view id,
                                    absl::string_view field);
// INVALID_ARGUMENT naming `field` unless `id` is 1-63 of [a-z0-9-] not
// starting with '-'.
absl::Status ValidateAgencyId(absl::string_view id, absl::string_view field);

std::string HubSpiffeId(absl::string_view federation);
std::string NodeSpiffeId(absl::string_view federation,
                         absl::string_view agency_id);
std::string UserSpiffeId(absl::string_view federation,
                         absl::string_view agency_id, absl::string_view user);
// A custodian's name follows ValidateAgencyId's rule.
std::string CustodianSpiffeId(absl::string_view federation,
                              absl::string_view custodian);

// Parses one of the four forms above; INVALID_ARGUMENT otherwise.
absl::StatusOr<FederationIdentity> ParseSpiffeId(absl::string_view uri);

// The identity of the verified TLS peer of a call: its certificate's single
// spiffe:// URI SAN. UNAUTHENTICATED when the peer has none, several, or one
// that is not a federation identity.
absl::StatusOr<FederationIdentity> PeerIdentity(const grpc::AuthContext& auth);

}  // namespace deconfliction

#endif  // DECONFLICTION_SECURITY_IDENTITY_H_
