// BlindTokenizer: makes a node's tokens (identifiers/token.h) with the
// custodians' help, so that the node never holds the token key and the
// custodians never see an identifier (RFC 9497 VOPRF, ristretto255-SHA512):
//   1. each identifier's token input is blinded with a fresh random scalar
//      r: B = r * HashToGroup(input);
//   2. every custodian is asked at once for k_i * B (Custodians), with one
//      batched DLEQ proof against its public share in the bundle;
//   3. answers are checked as they arrive, until the valid ones and those
//      being checked reach the threshold; a later answer is set aside, and
//      checked only in place of one that fails (a proof costs about two
//      scalar multiplications per element). A check covers epoch,
//      generation, share index, element count, every element, and the
//      proof. An answer that fails is ignored and its custodian named in
//      the log;
//   4. the first `threshold` valid answers are combined with Lagrange
//      coefficients into k * B, unblinded and finalized; the token is the
//      output's first kTokenBytes bytes.
// With fewer than `threshold` valid answers by the deadline, the identifiers
// that needed them get no token, and the batch names every custodian that
// gave no valid answer, with why: the caller reports them, never a silent
// "no".
//
// A bounded cache (token input -> token) of this bundle's epoch answers
// repeated identifiers without the custodians; the oldest entries leave
// first.
//
// The node's group operations are spread over the machine's cores: a batch
// of at least 256 identifiers is blinded, combined and finalized in slices,
// one per core (each custodian's proof is checked on the thread its answer
// arrives on).
//
// Metrics (registered by Create): deconfliction_custodian_answers_total
// {custodian, outcome} (valid, invalid, unanswered, late),
// deconfliction_tokens_total{source} (custodians, cache) and
// deconfliction_tokens_missing_total.
//
// Thread safety: Tokenize may be called concurrently.
#ifndef DECONFLICTION_SERVER_NODE_BLIND_TOKENIZER_H_
#define DECONFLICTION_SERVER_NODE_BLIND_TOKENIZER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/deconfliction/keys/v1/keys.pb.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "identifiers/canonical.h"
#include "metrics/metrics.h"
#include "server/node/custodians.h"

namespace deconfliction {

struct TokenBatch {
  // One per identifier, in order: kTokenBytes bytes, or empty when the
  // custodians did not make it.
  std::vector<std::string> tokens;
  // When a token is missing: each custodian that gave no valid answer, as
  // "custodian/<name>", with why, in name order.
  std::vector<v1::NodeOutcome> unanswered;
};

class BlindTokenizer {
 public:
  using Done = std::function<void(TokenBatch)>;

  // `bundle` must have passed ValidateBundle; `custodians` must name at
  // least its threshold of its custodians and outlive the tokenizer.
  // `metrics` (the tokenizer's families are added to it: one tokenizer per
  // registry) must outlive the custodians' answers too, including late
  // ones still queued after the tokenizer is gone. INVALID_ARGUMENT for a
  // custodian the bundle does not name.
  static absl::StatusOr<std::unique_ptr<BlindTokenizer>> Create(
      const keys::v1::TokenKeyBundle& bundle, Custodians* custodians,
      size_t cache_entries, MetricsRegistry* metrics);

  // Tokens for `identifiers`. `done` runs exactly once: inline when every
  // token is cached, else on the thread of the answer that completes the
  // batch, by `deadline` at the latest.
  void Tokenize(const std::vector<CanonicalIdentifier>& identifiers,
                absl::Time deadline, Done done);
  // Tokenize, waiting for the batch. Never call it on a thread that runs
  // the custodians' answers (the node's WorkQueue).
  TokenBatch TokenizeAndWait(
      const std::vector<CanonicalIdentifier>& identifiers, absl::Time deadline);

  // The key epoch every token of this tokenizer belongs to.
  const std::string& epoch() const;

 private:
  // What a round needs after the call that started it has returned: the
  // bundle's keys and the cache. Shared with every round, so that a late
  // answer never reaches a destroyed tokenizer.
  struct State;
  struct Round;

  explicit BlindTokenizer(std::shared_ptr<State> state, Custodians* custodians)
      : state_(std::move(state)), custodians_(custodians) {}

  const std::shared_ptr<State> state_;
  Custodians* const custodians_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_BLIND_TOKENIZER_H_
