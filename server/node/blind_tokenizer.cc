#include "server/node/blind_tokenizer.h"

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "api/federation_checks.h"
#include "api/hits.h"
#include "base/log.h"
#include "identifiers/token.h"
#include "oprf/group.h"
#include "oprf/threshold.h"
#include "oprf/voprf.h"

namespace deconfliction {

// The tokens made here are the ones the hub and the nodes check on the wire.
static_assert(kTokenBytes == kFederationTokenBytes);

namespace {

// Elements below which a batch's group operations stay on one thread.
constexpr size_t kElementsPerThread = 128;

// Runs `work(begin, end)` over [0, n) in slices, one per core (this thread
// takes the first), when the batch is big enough to be worth the threads;
// returns when every slice is done.
void ForEachSlice(size_t n, const std::function<void(size_t, size_t)>& work) {
  if (n < 2 * kElementsPerThread) return work(0, n);
  // Read once: the standard library reads it from /sys on every call.
  static const size_t cores = std::max(1U, std::thread::hardware_concurrency());
  const size_t threads = std::min(cores, n / kElementsPerThread);
  if (threads <= 1) return work(0, n);
  const size_t slice = (n + threads - 1) / threads;
  std::vector<std::thread> helpers;
  helpers.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) {
    helpers.emplace_back(work, t * slice, std::min(n, (t + 1) * slice));
  }
  work(0, std::min(n, slice));
  for (std::thread& helper : helpers) helper.join();
}

}  // namespace

struct BlindTokenizer::State {
  struct CustodianKey {
    uint32_t index = 0;
    oprf::Element public_share{};
  };

  State(keys::v1::TokenKeyBundle bundle_in,
        absl::flat_hash_map<std::string, CustodianKey> keys_in,
        size_t cache_entries_in, MetricsRegistry* metrics)
      : bundle(std::move(bundle_in)),
        keys(std::move(keys_in)),
        generator(*oprf::ScalarMultGen(oprf::ScalarFromInt(1))),
        cache_entries(cache_entries_in),
        answers(metrics->AddCounterFamily(
            "deconfliction_custodian_answers_total",
            "Custodians' answers to this node's token requests, by outcome: "
            "valid, invalid (a bad proof, element, size, epoch, generation "
            "or share index: the custodian is faulty or hostile), "
            "unanswered (an error or no answer by the deadline), late "
            "(not needed: the threshold was reached by answers valid or "
            "being checked; not checked).",
            {"custodian", "outcome"})),
        tokens(metrics->AddCounterFamily(
            "deconfliction_tokens_total",
            "Tokens this node made, by source: custodians or cache.",
            {"source"})),
        missing(&metrics
                     ->AddCounterFamily(
                         "deconfliction_tokens_missing_total",
                         "Identifiers left without a token: fewer "
                         "custodians than the threshold answered validly.")
                     ->WithLabels({})) {}

  // The evaluated elements of a valid answer to `blinded`, else why it is
  // not valid.
  absl::StatusOr<std::vector<oprf::Element>> Check(
      const std::string& custodian,
      const absl::StatusOr<v1::EvaluateResponse>& answer,
      const std::vector<oprf::Element>& blinded) const;

  bool CachedToken(const std::string& input, std::string* token) const {
    absl::MutexLock lock(&cache_mu);
    auto found = cache.find(input);
    if (found == cache.end()) return false;
    *token = found->second;
    return true;
  }

  // The oldest entry leaves when the cache is full.
  void CacheToken(const std::string& input, const std::string& token) {
    if (cache_entries == 0) return;
    absl::MutexLock lock(&cache_mu);
    if (!cache.emplace(input, token).second) return;
    cache_order.push_back(input);
    if (cache_order.size() > cache_entries) {
      cache.erase(cache_order.front());
      cache_order.pop_front();
    }
  }

  const keys::v1::TokenKeyBundle bundle;
  const absl::flat_hash_map<std::string, CustodianKey> keys;
  const oprf::Element generator;
  const size_t cache_entries;
  CounterFamily* const answers;
  CounterFamily* const tokens;
  Counter* const missing;
  mutable absl::Mutex cache_mu;
  absl::flat_hash_map<std::string, std::string> cache ABSL_GUARDED_BY(cache_mu);
  std::deque<std::string> cache_order ABSL_GUARDED_BY(cache_mu);
};

// One Tokenize call waiting on the custodians.
struct BlindTokenizer::Round {
  std::shared_ptr<State> state;
  TokenBatch batch;
  Done done;
  // For each identifier sent to the custodians: its position in `batch`,
  // its token input, its blind and its blinded element.
  std::vector<size_t> positions;
  std::vector<std::string> inputs;
  std::vector<oprf::SecretScalar> blinds;
  std::vector<oprf::Element> blinded;

  // A custodian's answer, as received.
  struct Answer {
    std::string custodian;
    absl::StatusOr<v1::EvaluateResponse> response;
  };

  absl::Mutex mu;
  std::vector<oprf::ShareEvaluations> valid ABSL_GUARDED_BY(mu);
  std::vector<v1::NodeOutcome> failed ABSL_GUARDED_BY(mu);
  // Answers not yet checked or set aside.
  size_t waiting ABSL_GUARDED_BY(mu) = 0;
  // Answers being checked.
  size_t checking ABSL_GUARDED_BY(mu) = 0;
  // Answers set aside unchecked while the valid ones and those being
  // checked are enough: checked only if one of those fails.
  std::vector<Answer> reserve ABSL_GUARDED_BY(mu);
  bool decided ABSL_GUARDED_BY(mu) = false;

  // Records one custodian's answer: checks it, unless enough others are
  // valid or being checked; finishes the round when it decides it.
  void Receive(Answer answer);
  // Combines, unblinds and finalizes `valid` into the batch's tokens.
  void Finish(const std::vector<oprf::ShareEvaluations>& valid);
};

absl::StatusOr<std::unique_ptr<BlindTokenizer>> BlindTokenizer::Create(
    const keys::v1::TokenKeyBundle& bundle, Custodians* custodians,
    size_t cache_entries, MetricsRegistry* metrics) {
  absl::flat_hash_map<std::string, State::CustodianKey> keys;
  for (const std::string& name : custodians->names()) {
    const keys::v1::CustodianKey* found = nullptr;
    for (const keys::v1::CustodianKey& key : bundle.custodians()) {
      if (key.name() == name) found = &key;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "custodian \"", name, "\" is not in the token-key bundle"));
    }
    absl::StatusOr<oprf::Element> share = oprf::DeserializeElement(
        found->public_share(), "custodians.public_share");
    if (!share.ok()) return share.status();
    keys[name] = State::CustodianKey{found->index(), *share};
  }
  return std::unique_ptr<BlindTokenizer>(new BlindTokenizer(
      std::make_shared<State>(bundle, std::move(keys), cache_entries, metrics),
      custodians));
}

const std::string& BlindTokenizer::epoch() const {
  return state_->bundle.epoch();
}

void BlindTokenizer::Tokenize(
    const std::vector<CanonicalIdentifier>& identifiers, absl::Time deadline,
    Done done) {
  auto round = std::make_shared<Round>();
  round->state = state_;
  round->batch.tokens.resize(identifiers.size());
  round->done = std::move(done);
  uint64_t cached = 0;
  std::vector<size_t> wanted;  // positions of the identifiers not cached
  std::vector<std::string> inputs;
  for (size_t i = 0; i < identifiers.size(); ++i) {
    std::string input = TokenInput(identifiers[i]);
    if (state_->CachedToken(input, &round->batch.tokens[i])) {
      ++cached;
      continue;
    }
    wanted.push_back(i);
    inputs.push_back(std::move(input));
  }
  state_->tokens->WithLabels({"cache"}).Increment(cached);
  std::vector<oprf::SecretScalar> blinds(wanted.size());
  std::vector<absl::StatusOr<oprf::Element>> blinded(wanted.size());
  ForEachSlice(wanted.size(), [&](size_t begin, size_t end) {
    for (size_t j = begin; j < end; ++j) {
      blinds[j] = oprf::SecretScalar(oprf::RandomScalar());
      blinded[j] = oprf::Blind(oprf::Mode::kVoprf, inputs[j], blinds[j].get());
    }
  });
  for (size_t j = 0; j < wanted.size(); ++j) {
    // Only an input that hashes to the identity fails (probability about
    // 2^-252); its token stays missing.
    if (!blinded[j].ok()) continue;
    round->positions.push_back(wanted[j]);
    round->inputs.push_back(std::move(inputs[j]));
    round->blinds.push_back(blinds[j]);
    round->blinded.push_back(*blinded[j]);
  }
  if (round->positions.empty()) {
    round->done(std::move(round->batch));
    return;
  }
  auto request = std::make_shared<v1::EvaluateRequest>();
  request->set_epoch(state_->bundle.epoch());
  request->mutable_blinded_elements()->Reserve(
      static_cast<int>(round->blinded.size()));
  for (const oprf::Element& element : round->blinded) {
    request->add_blinded_elements(oprf::Serialize(element));
  }
  {
    absl::MutexLock lock(&round->mu);
    round->waiting = custodians_->names().size();
  }
  custodians_->EvaluateEach(
      request, deadline,
      [round](const std::string& custodian,
              const absl::StatusOr<v1::EvaluateResponse>& answer) {
        round->Receive(Round::Answer{custodian, answer});
      });
}

TokenBatch BlindTokenizer::TokenizeAndWait(
    const std::vector<CanonicalIdentifier>& identifiers, absl::Time deadline) {
  absl::Notification done;
  TokenBatch result;
  Tokenize(identifiers, deadline, [&](TokenBatch batch) {
    result = std::move(batch);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

absl::StatusOr<std::vector<oprf::Element>> BlindTokenizer::State::Check(
    const std::string& custodian,
    const absl::StatusOr<v1::EvaluateResponse>& answer,
    const std::vector<oprf::Element>& blinded) const {
  if (!answer.ok()) return answer.status();
  const CustodianKey& key = keys.at(custodian);
  if (answer->epoch() != bundle.epoch()) {
    return absl::FailedPreconditionError(
        absl::StrCat("answered for key epoch \"",
                     absl::CEscape(answer->epoch().substr(0, 64)),
                     "\", not the bundle's \"", bundle.epoch(), "\""));
  }
  if (answer->generation() != bundle.generation()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "holds a share of generation ", answer->generation(),
        " but this node's bundle is of generation ", bundle.generation(),
        " (install the bundle of the latest share refresh)"));
  }
  if (answer->share_index() != key.index) {
    return absl::DataLossError(absl::StrCat("answered as share ",
                                            answer->share_index(),
                                            ", not its share ", key.index));
  }
  if (answer->evaluated_elements_size() != static_cast<int>(blinded.size())) {
    return absl::DataLossError(absl::StrCat("answered ",
                                            answer->evaluated_elements_size(),
                                            " elements for ", blinded.size()));
  }
  std::vector<oprf::Element> evaluated;
  evaluated.reserve(blinded.size());
  for (int i = 0; i < answer->evaluated_elements_size(); ++i) {
    absl::StatusOr<oprf::Element> element =
        oprf::DeserializeElement(answer->evaluated_elements(i),
                                 absl::StrCat("evaluated_elements[", i, "]"));
    if (!element.ok()) return absl::DataLossError(element.status().message());
    evaluated.push_back(*element);
  }
  absl::StatusOr<oprf::Proof> proof =
      oprf::DeserializeProof(answer->proof(), "proof");
  if (!proof.ok()) return absl::DataLossError(proof.status().message());
  if (!oprf::VerifyProof(oprf::Mode::kVoprf, generator, key.public_share,
                         blinded, evaluated, *proof)) {
    return absl::DataLossError(
        "its proof does not verify against its public share");
  }
  return evaluated;
}

void BlindTokenizer::Round::Receive(Answer answer) {
  const size_t threshold = state->bundle.threshold();
  {
    absl::MutexLock lock(&mu);
    if (decided) {
      --waiting;
      // Decided by the others: not even checked.
      state->answers->WithLabels({answer.custodian, "late"}).Increment();
      return;
    }
    if (valid.size() + checking >= threshold) {
      reserve.push_back(std::move(answer));
      return;
    }
    ++checking;
  }
  std::vector<oprf::ShareEvaluations> combine;
  bool fail = false;
  // Checks `answer`, then, while the round is undecided, a reserved answer
  // in place of each that fails.
  while (true) {
    absl::StatusOr<std::vector<oprf::Element>> evaluated =
        state->Check(answer.custodian, answer.response, blinded);
    const char* outcome = evaluated.ok() ? "valid" : "unanswered";
    if (!evaluated.ok() && answer.response.ok()) {
      // A custodian that answers wrongly is faulty or hostile: said loudly.
      outcome = "invalid";
      LogWarning("tokens", "a custodian gave an invalid answer, ignored",
                 {{"custodian", answer.custodian},
                  {"reason", std::string(evaluated.status().message())}});
    }
    state->answers->WithLabels({answer.custodian, outcome}).Increment();
    const bool checked_valid = evaluated.ok();
    absl::MutexLock lock(&mu);
    --waiting;
    --checking;
    if (checked_valid) {
      valid.push_back(oprf::ShareEvaluations{
          state->keys.at(answer.custodian).index, *std::move(evaluated)});
    } else {
      failed.push_back(Unanswered(absl::StrCat("custodian/", answer.custodian),
                                  evaluated.status()));
    }
    if (valid.size() >= threshold) {
      decided = true;
      combine = std::move(valid);
      for (const Answer& unchecked : reserve) {
        --waiting;
        state->answers->WithLabels({unchecked.custodian, "late"}).Increment();
      }
      reserve.clear();
      break;
    }
    if (!checked_valid && !reserve.empty() &&
        valid.size() + checking < threshold) {
      answer = std::move(reserve.back());
      reserve.pop_back();
      ++checking;
      continue;
    }
    if (waiting == 0) {
      decided = fail = true;
      // In custodian order, whichever failed first.
      std::sort(failed.begin(), failed.end(),
                [](const v1::NodeOutcome& a, const v1::NodeOutcome& b) {
                  return a.agency_id() < b.agency_id();
                });
      batch.unanswered = failed;
      state->missing->Increment(positions.size());
    }
    break;
  }
  if (!combine.empty()) Finish(combine);
  if (!combine.empty() || fail) done(std::move(batch));
}

void BlindTokenizer::Round::Finish(
    const std::vector<oprf::ShareEvaluations>& valid_answers) {
  // Each slice of the batch combined and finalized on a core of its own.
  std::vector<absl::StatusOr<std::string>> outputs(positions.size());
  absl::Mutex failed_mu;
  absl::Status failed_combine;
  ForEachSlice(positions.size(), [&](size_t begin, size_t end) {
    std::vector<oprf::ShareEvaluations> slice;
    slice.reserve(valid_answers.size());
    for (const oprf::ShareEvaluations& answer : valid_answers) {
      slice.push_back(oprf::ShareEvaluations{
          answer.index,
          {answer.elements.begin() + static_cast<std::ptrdiff_t>(begin),
           answer.elements.begin() + static_cast<std::ptrdiff_t>(end)}});
    }
    absl::StatusOr<std::vector<oprf::Element>> combined =
        oprf::CombineEvaluations(slice,
                                 static_cast<int>(state->bundle.threshold()));
    if (!combined.ok()) {
      absl::MutexLock lock(&failed_mu);
      failed_combine = combined.status();
      return;
    }
    for (size_t j = begin; j < end; ++j) {
      outputs[j] =
          oprf::Finalize(inputs[j], blinds[j].get(), (*combined)[j - begin]);
    }
  });
  if (!failed_combine.ok()) {
    // Checked answers always combine; reaching here is a defect.
    batch.unanswered.push_back(Unanswered("custodians", failed_combine));
    return;
  }
  uint64_t made = 0;
  for (size_t j = 0; j < positions.size(); ++j) {
    if (!outputs[j].ok()) continue;
    std::string token = outputs[j]->substr(0, kTokenBytes);
    state->CacheToken(inputs[j], token);
    batch.tokens[positions[j]] = std::move(token);
    ++made;
  }
  state->tokens->WithLabels({"custodians"}).Increment(made);
}

}  // namespace deconfliction
