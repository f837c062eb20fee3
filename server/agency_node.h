// AgencyNode: what an agency node does, free of gRPC. The gRPC services
// (server/node_services.h) are thin adapters over it; every method returns
// absl::Status codes that map one-to-one onto gRPC's.
//
// Identifiers are validated and canonicalized here, turned into tokens, and
// only then reach storage. INVALID_ARGUMENT messages name the request field
// (`identifiers[3]`, `contact.name`, ...) and the reason; a request with any
// invalid part changes nothing.
//
// Thread safety: all methods may be called concurrently.
#ifndef DECONFLICTION_SERVER_AGENCY_NODE_H_
#define DECONFLICTION_SERVER_AGENCY_NODE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "api/deconfliction/v1/federation.pb.h"
#include "identifiers/token.h"
#include "security/identity.h"
#include "storage/node_store.h"

namespace deconfliction {

class AgencyNode {
 public:
  // `config` must have passed ValidateNodeConfig.
  AgencyNode(config::v1::NodeConfig config,
             std::unique_ptr<TokenFunction> tokens,
             std::unique_ptr<NodeStore> store, Clock clock);

  // Answers from this node's records (CHECK_SCOPE_LOCAL). `first_index` is
  // the position of the request's first identifier in its bulk job.
  // INVALID_ARGUMENT for an empty or oversized batch or a bad identifier.
  absl::StatusOr<v1::CheckResponse> Check(const v1::CheckRequest& request,
                                          uint64_t first_index) const;

  // Stores the identifiers under the case (creating it if new) and reports
  // the matches they had before this call, other than in the same case.
  // INVALID_ARGUMENT for a bad case_ref, contact, expiry, batch or
  // identifier; FAILED_PRECONDITION when the case is closed.
  absl::StatusOr<v1::RegisterResponse> Register(
      const v1::RegisterRequest& request, const FederationIdentity& caller);

  absl::StatusOr<v1::CloseCaseResponse> CloseCase(
      const v1::CloseCaseRequest& request);
  absl::StatusOr<v1::Case> GetCase(const v1::GetCaseRequest& request) const;
  // page_size 0 means 100; more than 500 is INVALID_ARGUMENT.
  absl::StatusOr<v1::ListCasesResponse> ListCases(
      const v1::ListCasesRequest& request) const;

  // The hub's token lookup: INVALID_ARGUMENT for a token that is not 32
  // bytes or an oversized batch. Case references appear only where the
  // owner shares them.
  absl::StatusOr<v1::TokenLookupResponse> LookupTokens(
      const v1::TokenLookupRequest& request) const;

  const config::v1::NodeConfig& config() const { return config_; }

 private:
  struct Prepared {
    std::vector<NewEntry> entries;
  };
  // Validates the batch size and every identifier, in request order.
  absl::StatusOr<Prepared> Prepare(
      const google::protobuf::RepeatedPtrField<v1::Identifier>& identifiers,
      const std::string& region) const;
  // Local hits for each entry, skipping `exclude_case_ref`.
  absl::StatusOr<std::vector<v1::CheckResult>> LocalResults(
      const std::vector<NewEntry>& entries, uint64_t first_index,
      const std::string& exclude_case_ref) const;

  const config::v1::NodeConfig config_;
  const std::unique_ptr<TokenFunction> tokens_;
  const std::unique_ptr<NodeStore> store_;
  const Clock clock_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_AGENCY_NODE_H_
