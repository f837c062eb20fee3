#include "server/node/audit_anchoring.h"

#include <future>
#include <string>
#include <utility>

#include "base/log.h"

namespace deconfliction {

AuditAnchoring::AuditAnchoring(const AuditLog* audit, Federation* federation,
                               absl::Duration timeout, Clock clock,
                               absl::Duration interval)
    : audit_(audit),
      federation_(federation),
      timeout_(timeout),
      clock_(std::move(clock)),
      periodic_(
          interval, [this] { SendHead(); }, Periodic::AtStop::kRunOnceMore) {}

void AuditAnchoring::SendHead() {
  const AuditHead head = audit_->SyncedHead();
  if (head.seq == 0 || head.seq == anchored_seq_) return;
  v1::AnchorAuditRequest request;
  request.set_seq(head.seq);
  request.set_mac(head.mac);
  std::promise<absl::Status> answered;
  federation_->AnchorAudit(
      std::move(request), clock_() + timeout_,
      [&answered](const absl::Status& status) { answered.set_value(status); });
  const absl::Status status = answered.get_future().get();
  if (status.ok()) {
    anchored_seq_ = head.seq;
    failing_ = false;
    return;
  }
  // Said once per failing spell; the head is sent again next interval.
  if (!failing_) {
    LogWarning("audit", "the hub did not take the audit chain head; retrying",
               {{"seq", head.seq}, {"reason", std::string(status.message())}});
  }
  failing_ = true;
}

}  // namespace deconfliction
