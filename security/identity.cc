#include "security/identity.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace deconfliction {
namespace {

bool IsUserName(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status ValidateFederationName(absl::string_view id,
                                    absl::string_view field) {
  bool ok = !id.empty() && id.size() <= 253;
  for (absl::string_view label : absl::StrSplit(id, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' ||
        label.back() == '-') {
      ok = false;
    }
    for (char c : label) {
      if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
          !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '-') {
        ok = false;
      }
    }
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": \"", id, "\" is not a lower-case DNS name (e.g. fed.example)"));
}

absl::Status ValidateAgencyId(absl::string_view id, absl::string_view field) {
  bool ok = !id.empty() && id.size() <= 63 && id.front() != '-';
  for (char c : id) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '-') {
      ok = false;
    }
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": \"", id,
                   "\" must be 1-63 of a-z, 0-9 and '-', not starting "
                   "with '-'"));
}

std::string HubSpiffeId(absl::string_view federation) {
  return absl::StrCat("spiffe://", federation, "/hub");
}

std::string NodeSpiffeId(absl::string_view federation,
                         absl::string_view agency_id) {
  return absl::StrCat("spiffe://", federation, "/agency/", agency_id, "/node");
}

std::string UserSpiffeId(absl::string_view federation,
                         absl::string_view agency_id, absl::string_view user) {
  return absl::StrCat("spiffe://", federation, "/agency/", agency_id, "/user/",
                      user);
}

std::string CustodianSpiffeId(absl::string_view federation,
                              absl::string_view custodian) {
  return absl::StrCat("spiffe://", federation, "/custodian/", custodian);
}

absl::StatusOr<FederationIdentity> ParseSpiffeId(absl::string_view uri) {
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", uri, "\" is not a federation identity"));
  };
  absl::string_view rest = uri;
  if (!absl::ConsumePrefix(&rest, "spiffe://")) return invalid();
  std::vector<absl::string_view> parts = absl::StrSplit(rest, '/');
  FederationIdentity identity;
  identity.uri = std::string(uri);
  identity.federation = std::string(parts[0]);
  if (!ValidateFederationName(parts[0], "federation").ok()) return invalid();
  if (parts.size() == 2 && parts[1] == "hub") {
    identity.role = FederationIdentity::Role::kHub;
    return identity;
  }
  if (parts.size() == 3 && parts[1] == "custodian" &&
      ValidateAgencyId(parts[2], "custodian").ok()) {
    identity.role = FederationIdentity::Role::kCustodian;
    identity.custodian = std::string(parts[2]);
    return identity;
  }
  if (parts.size() < 4 || parts[1] != "agency" ||
      !ValidateAgencyId(parts[2], "agency").ok()) {
    return invalid();
  }
  identity.agency_id = std::string(parts[2]);
  if (parts.size() == 4 && parts[3] == "node") {
    identity.role = FederationIdentity::Role::kNode;
    return identity;
  }
  if (parts.size() == 5 && parts[3] == "user" && IsUserName(parts[4])) {
    identity.role = FederationIdentity::Role::kUser;
    identity.user = std::string(parts[4]);
    return identity;
  }
  return invalid();
}

absl::StatusOr<FederationIdentity> PeerIdentity(const grpc::AuthContext& auth) {
  std::vector<grpc::string_ref> uris =
      auth.FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME);
  std::vector<std::string> spiffe;
  for (const grpc::string_ref& uri : uris) {
    std::string value(uri.data(), uri.size());
    if (absl::StartsWith(value, "spiffe://")) spiffe.push_back(value);
  }
  if (spiffe.size() != 1) {
    return absl::UnauthenticatedError(
        "peer certificate must carry exactly one spiffe:// URI SAN");
  }
  absl::StatusOr<FederationIdentity> identity = ParseSpiffeId(spiffe[0]);
  if (!identity.ok()) {
    return absl::UnauthenticatedError(identity.status().message());
  }
  return identity;
}

}  // namespace deconfliction
