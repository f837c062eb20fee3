// FederatedCheck: the federation's half of a node's Check and Register. It
// sends the identifiers' tokens to the hub (never the identifiers), merges
// the hub's answers into the node's own results, and appends one audit
// record per request, with or without a federation: the caller, and each
// identifier's type and canonical form (storage/audit_log.h). Entries without a
// token (the custodians could not make it) are not sent; their results already
// say why. A hub that does not answer makes every sent entry's result
// incomplete, naming the hub: never a silent "no". A registration's lookup,
// queued with it in the FederationQueue, leaves the queue once the hub has
// answered; if the hub did not (down, slow, or over the agency's query cap),
// FederationRetry sends it again. A check's answer is merged, audited and
// given on the thread where the hub's answer arrives (the audit append
// waits for no disk flush); a registration's goes through the work queue,
// since taking its lookup off the queue is a synced write.
//
// Thread safety: Run may be called concurrently.
#ifndef DECONFLICTION_SERVER_NODE_FEDERATED_CHECK_H_
#define DECONFLICTION_SERVER_NODE_FEDERATED_CHECK_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "api/deconfliction/v1/federation.pb.h"
#include "base/clock.h"
#include "rpc/work_queue.h"
#include "security/identity.h"
#include "server/node/federation.h"
#include "storage/node_database.h"

namespace deconfliction {

class FederatedCheck {
 public:
  // `refusal` is the hub's RESOURCE_EXHAUSTED (a query cap), or
  // UNAVAILABLE when a check could not be audited (a check is not answered
  // unaudited; a registration, already stored, is), else OK.
  using Done = std::function<void(absl::Status refusal,
                                  std::vector<v1::CheckResult> results,
                                  v1::CheckScope scope)>;

  // Everything must outlive the check. `federation` may be null: results
  // are then the node's own (CHECK_SCOPE_LOCAL). `storage` runs what
  // writes the federation queue (unused, and may be null, without one).
  FederatedCheck(const config::v1::NodeConfig* config, Federation* federation,
                 NodeDatabase* database, WorkQueue* storage, Clock clock)
      : config_(config),
        federation_(federation),
        database_(database),
        storage_(storage),
        clock_(std::move(clock)) {}

  // Whether there is a hub to ask.
  bool federated() const { return federation_ != nullptr; }

  // Adds the federation's answers for `entries` to `results` (one per
  // entry, in order), audits the request under `operation`, and calls
  // `done` exactly once: inline without a federation, else on the thread
  // where the hub's answer completes (a check) or on `storage` (a
  // registration). `sharing` is the registering case's
  // (SHARING_UNSPECIFIED for a check). `queued_key` (empty for a check) is
  // the FederationQueue key the registration claimed for its lookup:
  // removed once the hub answers, else released to FederationRetry.
  void Run(const std::vector<NewEntry>& entries,
           std::vector<v1::CheckResult> results, v1::LookupPurpose purpose,
           const v1::Contact& requester, v1::Sharing sharing,
           const FederationIdentity& caller, const std::string& operation,
           const std::string& queued_key, absl::Time deadline, Done done);

 private:
  // Appends `record` (its hit count taken from `results`), then calls
  // `done`.
  void AuditAndFinish(storage::v1::AuditRecord record, absl::Status refusal,
                      std::vector<v1::CheckResult> results,
                      v1::CheckScope scope, const Done& done);

  const config::v1::NodeConfig* const config_;
  Federation* const federation_;
  NodeDatabase* const database_;
  WorkQueue* const storage_;
  const Clock clock_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_FEDERATED_CHECK_H_
