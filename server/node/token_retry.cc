#include "server/node/token_retry.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

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
    std::fprintf(stderr,
                 "deconflict-node: cannot read the registrations awaiting "
                 "tokens: %s\n",
                 std::string(awaiting.status().message()).c_str());
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
      std::fprintf(stderr,
                   "deconflict-node: cannot attach the tokens of a "
                   "registration: %s\n",
                   std::string(attached.message()).c_str());
      return;
    }
    std::fprintf(stderr,
                 "deconflict-node: %zu identifiers registered while the "
                 "custodians were unavailable now have their tokens%s\n",
                 registration.identifiers.size(),
                 federated_ ? "; their federated check is queued" : "");
  }
}

}  // namespace deconfliction
