#include "server/node/token_retry.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "base/log.h"

namespace deconfliction {
namespace {

constexpr size_t kRetryBatch = 10;

}  // namespace

TokenRetry::TokenRetry(const config::v1::NodeConfig* config,
                       BlindTokenizer* tokens, NodeDatabase* database,
                       bool federated, Clock clock)
    : config_(config),
      tokens_(tokens),
      database_(database),
      federated_(federated),
      clock_(std::move(clock)),
      periodic_(kTokenRetryInterval, [this] { AttachOldest(); }) {}

void TokenRetry::AttachOldest() {
  absl::StatusOr<std::vector<AwaitingRegistration>> awaiting =
      database_->cases().OldestAwaitingTokens(kRetryBatch);
  if (!awaiting.ok()) {
    LogError("tokens", "cannot read the registrations awaiting tokens",
             {{"reason", std::string(awaiting.status().message())}});
    return;
  }
  for (const AwaitingRegistration& registration : *awaiting) {
    TokenBatch batch = tokens_->TokenizeAndWait(
        registration.identifiers,
        clock_() + absl::Milliseconds(config_->token_key().timeout_ms()));
    // Still below the threshold: the custodians were named when the
    // registration was answered; try again next interval.
    if (std::any_of(batch.tokens.begin(), batch.tokens.end(),
                    [](const std::string& token) { return token.empty(); })) {
      return;
    }
    absl::Status attached = database_->cases().AttachTokens(
        registration, batch.tokens,
        federated_ ? &database_->federation_queue() : nullptr);
    if (!attached.ok()) {
      LogError("tokens", "cannot attach the tokens of a registration",
               {{"reason", std::string(attached.message())}});
      return;
    }
    LogInfo("tokens",
            federated_ ? "identifiers registered while the custodians were "
                         "unavailable now have their tokens; their federated "
                         "check is queued"
                       : "identifiers registered while the custodians were "
                         "unavailable now have their tokens",
            {{"identifiers", registration.identifiers.size()}});
  }
}

}  // namespace deconfliction
