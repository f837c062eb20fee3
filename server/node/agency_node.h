// AgencyNode: what a node does for its own agency's users and systems,
// free of gRPC: check identifiers, register them under a case, and close
// and read cases. The Registry and Deconfliction services
// (server/node/node_services.h) are thin adapters over it; every method
// reports absl::Status codes that map one-to-one onto gRPC's.
//
// Identifiers are validated and canonicalized here, turned into tokens with
// the custodians (BlindTokenizer), and only then reach storage or the
// federation. An identifier the custodians could not tokenize is answered as
// not known, naming them (never a silent "no"); registered, it is stored and
// awaits its token. INVALID_ARGUMENT messages name
// the request field (`identifiers[3]`, `contact.name`, ...) and the reason;
// a request with any invalid part changes nothing. The node's own matches
// come from its CaseStore; the federation's from FederatedCheck.
//
// Thread safety: all methods may be called concurrently.
#ifndef DECONFLICTION_SERVER_NODE_AGENCY_NODE_H_
#define DECONFLICTION_SERVER_NODE_AGENCY_NODE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "base/clock.h"
#include "security/identity.h"
#include "server/node/blind_tokenizer.h"
#include "server/node/federated_check.h"
#include "storage/node_database.h"

namespace deconfliction {

class AgencyNode {
 public:
  template <typename T>
  using Done = std::function<void(absl::StatusOr<T>)>;
  // Called once a check's tokens are made, with what remains of it (its
  // local lookup and its federated lookup): the caller runs that with true
  // when it is the check's turn (a CheckBulk stream's chunks reach the hub
  // in their order, and so count against the agency's query cap in that
  // order), or with false to drop the check, which then ends CANCELLED.
  using Turn = std::function<void(std::function<void(bool go)> rest)>;

  // `config` must have passed ValidateNodeConfig. Everything must outlive
  // the node.
  AgencyNode(const config::v1::NodeConfig* config, BlindTokenizer* tokens,
             NodeDatabase* database, FederatedCheck* federated, Clock clock)
      : config_(config),
        tokens_(tokens),
        database_(database),
        federated_(federated),
        clock_(std::move(clock)) {}

  // Answers for each identifier, in order. `first_index` is the position of
  // the request's first identifier in its bulk job. INVALID_ARGUMENT for an
  // empty or oversized batch or a bad identifier; RESOURCE_EXHAUSTED when
  // the hub refuses the agency's query cap. `done` runs once, on any thread.
  // Without `in_turn` (null), the check goes on as soon as its tokens are
  // made.
  void Check(const v1::CheckRequest& request, uint64_t first_index,
             const FederationIdentity& caller, absl::Time deadline,
             Turn in_turn, Done<v1::CheckResponse> done);

  // Stores the identifiers under the case (creating it if new), durably,
  // then reports their matches in other cases of this agency and, with a
  // federation, in other agencies. INVALID_ARGUMENT for a bad case_ref,
  // contact, expiry, batch or identifier; FAILED_PRECONDITION when the case
  // is closed. Once stored, the registration stands whatever the federation
  // answers. Identifiers the custodians could not tokenize are stored too,
  // awaiting their tokens (counted in `awaiting_tokens`, their results
  // incomplete naming the custodians): TokenRetry indexes and federates
  // them when the custodians return.
  void Register(const v1::RegisterRequest& request,
                const FederationIdentity& caller, absl::Time deadline,
                Done<v1::RegisterResponse> done);

  absl::StatusOr<v1::CloseCaseResponse> CloseCase(
      const v1::CloseCaseRequest& request);
  absl::StatusOr<v1::Case> GetCase(const v1::GetCaseRequest& request) const;
  // page_size 0 means 100; more than 500 is INVALID_ARGUMENT.
  absl::StatusOr<v1::ListCasesResponse> ListCases(
      const v1::ListCasesRequest& request) const;

 private:
  using Tokenized =
      std::function<void(std::vector<NewEntry> entries,
                         const std::vector<v1::NodeOutcome>& unanswered)>;

  // Validates the batch size and every identifier, in request order, and
  // canonicalizes them (entries without tokens yet).
  absl::StatusOr<std::vector<NewEntry>> Prepare(
      const google::protobuf::RepeatedPtrField<v1::Identifier>& identifiers,
      const std::string& region) const;
  // Fills the entries' tokens, then calls `next` with the entries and, when
  // a token is missing, the custodians that gave no valid answer.
  void Tokenize(std::vector<NewEntry> entries, absl::Time deadline,
                Tokenized next);
  // Local hits for each entry, skipping `exclude_case_ref`. An entry
  // without a token is incomplete, naming `unanswered`.
  absl::StatusOr<std::vector<v1::CheckResult>> LocalResults(
      const std::vector<NewEntry>& entries, uint64_t first_index,
      const std::string& exclude_case_ref,
      const std::vector<v1::NodeOutcome>& unanswered) const;

  const config::v1::NodeConfig* const config_;
  BlindTokenizer* const tokens_;
  NodeDatabase* const database_;
  FederatedCheck* const federated_;
  const Clock clock_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_AGENCY_NODE_H_
