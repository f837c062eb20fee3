#include "server/node/node_tokens.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "oprf/group.h"
#include "token_key/key_files.h"

namespace deconfliction {

absl::StatusOr<std::unique_ptr<NodeTokens>> NodeTokens::Create(
    const config::v1::NodeConfig& config, WorkQueue* completions,
    MetricsRegistry* metrics) {
  if (absl::Status s = oprf::Init(); !s.ok()) return s;
  absl::StatusOr<keys::v1::TokenKeyBundle> bundle =
      LoadBundle(config.token_key().bundle_file());
  if (!bundle.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("token_key.bundle_file: ", bundle.status().message()));
  }
  if (static_cast<uint32_t>(config.token_key().custodians_size()) <
      bundle->threshold()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "token_key.custodians: ", config.token_key().custodians_size(),
        " configured, but the bundle's threshold is ", bundle->threshold()));
  }
  std::unique_ptr<NodeTokens> tokens(new NodeTokens());
  absl::StatusOr<std::unique_ptr<CustodianClients>> custodians =
      CustodianClients::Create(config, completions);
  if (!custodians.ok()) return custodians.status();
  tokens->custodians_ = *std::move(custodians);
  absl::StatusOr<std::unique_ptr<BlindTokenizer>> tokenizer =
      BlindTokenizer::Create(*bundle, tokens->custodians_.get(),
                             config.token_key().cache_entries(), metrics);
  if (!tokenizer.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("token_key.custodians: ", tokenizer.status().message()));
  }
  tokens->tokenizer_ = *std::move(tokenizer);
  return tokens;
}

}  // namespace deconfliction
