// AgencyNode: what an agency node does, free of gRPC. The gRPC services
// (server/node_services.h) are thin adapters over it; every method reports
// absl::Status codes that map one-to-one onto gRPC's.
//
// Identifiers are validated and canonicalized here, turned into tokens, and
// only then reach storage or the federation. INVALID_ARGUMENT messages name
// the request field (`identifiers[3]`, `contact.name`, ...) and the reason;
// a request with any invalid part changes nothing.
//
// With a Federation, Check and Register also ask every other agency through
// the hub (CHECK_SCOPE_FEDERATION); a hub or node that does not answer makes
// the results incomplete, never a silent "no". A registration the hub did
// not answer for is queued and sent again every kFederationRetryInterval
// until the hub takes it, so its matches are still found and alerted. Each
// federated request and each token lookup answered for the hub is appended
// to the audit trail.
//
// Thread safety: all methods may be called concurrently.
#ifndef DECONFLICTION_SERVER_AGENCY_NODE_H_
#define DECONFLICTION_SERVER_AGENCY_NODE_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "api/deconfliction/v1/federation.pb.h"
#include "identifiers/token.h"
#include "security/identity.h"
#include "server/alert_feed.h"
#include "storage/node_store.h"

namespace deconfliction {

// How a node asks the rest of the federation (implemented over gRPC by
// HubClient). `done` runs exactly once, by `deadline` at the latest.
class Federation {
 public:
  using Done = std::function<void(absl::StatusOr<v1::FederatedLookupResponse>)>;
  using StatusDone =
      std::function<void(absl::StatusOr<v1::DeliveryStatusResponse>)>;
  virtual ~Federation() = default;
  virtual void Lookup(v1::FederatedLookupRequest request, absl::Time deadline,
                      Done done) = 0;
  // The hub's outbox for this agency.
  virtual void DeliveryStatus(absl::Time deadline, StatusDone done) = 0;
};

inline constexpr absl::Duration kFederationRetryInterval = absl::Seconds(2);

class AgencyNode {
 public:
  template <typename T>
  using Done = std::function<void(absl::StatusOr<T>)>;

  // `config` must have passed ValidateNodeConfig. `federation` may be null:
  // the node then answers from its own records only (CHECK_SCOPE_LOCAL).
  AgencyNode(config::v1::NodeConfig config,
             std::unique_ptr<TokenFunction> tokens,
             std::unique_ptr<NodeStore> store, Clock clock,
             std::unique_ptr<Federation> federation);
  ~AgencyNode();  // stops the retry of queued federated lookups

  // Answers for each identifier, in order. `first_index` is the position of
  // the request's first identifier in its bulk job. INVALID_ARGUMENT for an
  // empty or oversized batch or a bad identifier. `done` runs once.
  void Check(const v1::CheckRequest& request, uint64_t first_index,
             const FederationIdentity& caller, absl::Time deadline,
             Done<v1::CheckResponse> done);

  // Stores the identifiers under the case (creating it if new), durably,
  // then reports their matches in other cases of this agency and, with a
  // federation, in other agencies. INVALID_ARGUMENT for a bad case_ref,
  // contact, expiry, batch or identifier; FAILED_PRECONDITION when the case
  // is closed.
  void Register(const v1::RegisterRequest& request,
                const FederationIdentity& caller, absl::Time deadline,
                Done<v1::RegisterResponse> done);

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
      const v1::TokenLookupRequest& request, const FederationIdentity& caller);

  // The hub's delivery of alerts: each gets this agency's side from its own
  // records (the entries holding the token) and is stored under the next
  // cursor, unless its id is already held. Durable when this returns OK.
  absl::StatusOr<v1::DeliverAlertsResponse> DeliverAlerts(
      const v1::DeliverAlertsRequest& request);
  // Up to `limit` alerts after `cursor`.
  absl::StatusOr<std::vector<v1::Alert>> AlertsAfter(uint64_t cursor,
                                                     size_t limit) const;
  absl::StatusOr<v1::AcknowledgeResponse> Acknowledge(
      const v1::AcknowledgeRequest& request);
  // This node's alert log and, with a federation, the hub's outbox for it.
  void AlertStatus(absl::Time deadline, Done<v1::AlertStatusResponse> done);
  // Wakes watchers when alerts are stored.
  AlertFeed& alert_feed() { return alert_feed_; }

  const config::v1::NodeConfig& config() const { return config_; }

 private:
  // `refusal` is the hub's RESOURCE_EXHAUSTED (a query cap), else OK.
  using ResultsDone = std::function<void(
      absl::Status refusal, std::vector<v1::CheckResult>, v1::CheckScope)>;

  // Validates the batch size and every identifier, in request order.
  absl::StatusOr<std::vector<NewEntry>> Prepare(
      const google::protobuf::RepeatedPtrField<v1::Identifier>& identifiers,
      const std::string& region) const;
  // Local hits for each entry, skipping `exclude_case_ref`.
  absl::StatusOr<std::vector<v1::CheckResult>> LocalResults(
      const std::vector<NewEntry>& entries, uint64_t first_index,
      const std::string& exclude_case_ref) const;
  // Adds the federation's answers to `results` (when there is a
  // federation), audits the request, and calls `done`.
  void Federate(const std::vector<NewEntry>& entries,
                std::vector<v1::CheckResult> results, v1::LookupPurpose purpose,
                const v1::Contact& requester, const FederationIdentity& caller,
                const std::string& operation, absl::Time deadline,
                ResultsDone done);

  const config::v1::NodeConfig config_;
  const std::unique_ptr<TokenFunction> tokens_;
  const std::unique_ptr<NodeStore> store_;
  const Clock clock_;
  // Sends queued registrations' lookups until the hub takes them.
  void RetryQueuedLookups();

  const std::unique_ptr<Federation> federation_;
  AlertFeed alert_feed_;
  absl::Mutex retry_mu_;
  bool stopping_ ABSL_GUARDED_BY(retry_mu_) = false;
  std::thread retry_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_AGENCY_NODE_H_
