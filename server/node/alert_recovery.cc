#include "server/node/alert_recovery.h"

#include <future>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace deconfliction {

absl::Status CheckRecoveredCursors(const v1::RecoverAlertsResponse& page,
                                   uint64_t after) {
  if (page.last_cursor() > kMaxAlertCursor) {
    return absl::InvalidArgumentError(
        absl::StrCat("the hub's last_cursor ", page.last_cursor(),
                     " is beyond any cursor a node hands out"));
  }
  for (int i = 0; i < page.alerts_size(); ++i) {
    const uint64_t cursor = page.alerts(i).cursor();
    if (cursor <= after || cursor > page.last_cursor()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "alerts[", i, "].cursor: ", cursor, " is not after ", after,
          " and at most the last_cursor ", page.last_cursor()));
    }
  }
  return absl::OkStatus();
}

AlertRecovery::AlertRecovery(const config::v1::NodeConfig* config,
                             Federation* federation, NodeDatabase* database,
                             AlertIntake* intake, Clock clock)
    : config_(config),
      federation_(federation),
      database_(database),
      intake_(intake),
      clock_(std::move(clock)) {
  if (database_->alert_recovery().empty()) return;
  intake_->set_recovering(true);
  LogWarning("alerts",
             "restored from a backup: recovering the alerts delivered since "
             "then from the hub; watches and deliveries wait until done",
             {{"backup", database_->alert_recovery()},
              {"after_cursor", database_->alerts().Inbox().last_cursor}});
  periodic_ =
      std::make_unique<Periodic>(kAlertRecoveryInterval, [this] { Recover(); });
}

void AlertRecovery::Recover() {
  if (!intake_->recovering()) return;
  // Pages are stored in cursor order: after a failure (or a restart) the
  // log's last cursor is where to go on from.
  const uint64_t after = database_->alerts().Inbox().last_cursor;
  v1::RecoverAlertsRequest request;
  request.set_after_cursor(after);
  uint64_t recovered = 0;
  uint64_t duplicates = 0;
  uint64_t last_cursor = 0;
  uint32_t retention_days = 0;
  std::set<uint64_t> cursors;
  absl::Status failure;
  for (;;) {
    std::promise<absl::StatusOr<v1::RecoverAlertsResponse>> answered;
    federation_->RecoverAlerts(
        request, clock_() + absl::Milliseconds(config_->hub().timeout_ms()),
        [&answered](absl::StatusOr<v1::RecoverAlertsResponse> page) {
          answered.set_value(std::move(page));
        });
    absl::StatusOr<v1::RecoverAlertsResponse> page =
        answered.get_future().get();
    if (!page.ok()) {
      failure = page.status();
      break;
    }
    // The hub is trusted with cursors no more than with anything else: each
    // must lie after the restored log and within the last it reports.
    failure = CheckRecoveredCursors(*page, after);
    if (!failure.ok()) break;
    absl::StatusOr<StoredAlerts> stored = intake_->Recover(*page);
    if (!stored.ok()) {
      failure = stored.status();
      break;
    }
    recovered += stored->stored + stored->aggregated;
    duplicates += stored->duplicates;
    for (const v1::RecoveredAlert& alert : page->alerts()) {
      cursors.insert(alert.cursor());
    }
    last_cursor = page->last_cursor();
    retention_days = page->retention_days();
    if (page->next_page_token().empty()) break;
    request.set_page_token(page->next_page_token());
  }
  if (failure.ok()) {
    failure = database_->FinishAlertRecovery(last_cursor + 1);
  }
  if (!failure.ok()) {
    if (!failed_before_) {
      LogWarning("alerts",
                 "alert recovery after a restore failed; trying again every "
                 "second",
                 {{"reason", std::string(failure.message().substr(0, 200))}});
      failed_before_ = true;
    }
    return;
  }
  // Cursors the node reported that no kept alert filled: delivered after
  // the backup, but longer ago than the hub keeps them.
  const uint64_t filled = cursors.size();
  const uint64_t lost =
      last_cursor > after + filled ? last_cursor - after - filled : 0;
  intake_->set_recovering(false);
  intake_->feed().Publish();
  Log(lost > 0 ? LogLevel::kError : LogLevel::kInfo, "alerts",
      lost > 0 ? "alerts recovered after a restore, but some were delivered "
                 "longer ago than the hub keeps them: lost (their cursors "
                 "are not reused)"
               : "alerts recovered after a restore",
      {{"after_cursor", after},
       {"recovered", recovered},
       {"already_held", duplicates},
       {"next_cursor", last_cursor + 1},
       {"lost", lost},
       {"hub_retention_days", retention_days}});
}

}  // namespace deconfliction
