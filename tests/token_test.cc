// Tokens: the token function's input encoding, and the node's blind
// tokenizer against custodians in this process (honest, down, or lying):
// its tokens are the RFC 9497 VOPRF outputs of the whole key, a lying
// custodian is caught and the others still make the token, and fewer than
// the threshold name the custodians instead of answering.
#include "identifiers/token.h"

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/deconfliction/keys/v1/keys.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oprf/group.h"
#include "oprf/threshold.h"
#include "oprf/voprf.h"
#include "server/node/blind_tokenizer.h"
#include "server/node/custodians.h"

namespace deconfliction {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

CanonicalIdentifier Phone(const std::string& form) {
  return {v1::IDENTIFIER_TYPE_PHONE, form};
}

TEST(TokenInputTest, DomainTypeAndLengthPrefixTheForm) {
  std::string expected("deconfliction.v1/token\0", 23);
  expected += std::string("\0\0\0\1\0\0\0\x0c", 8) + "+16135550100";
  EXPECT_EQ(TokenInput(Phone("+16135550100")), expected);
  // The type is part of the input: the same form of another type differs.
  EXPECT_NE(TokenInput({v1::IDENTIFIER_TYPE_USERNAME, "x:abc"}),
            TokenInput({v1::IDENTIFIER_TYPE_VEHICLE_PLATE, "x:abc"}));
}

// How a fake custodian answers.
enum class Behaviour {
  kHonest,
  kDown,             // UNAVAILABLE
  kWrongElement,     // one evaluated element replaced
  kOtherKeyProof,    // evaluates and proves with a key of its own
  kShortAnswer,      // one element too few
  kOtherGeneration,  // a share from another refresh
};

class FakeCustodians final : public Custodians {
 public:
  FakeCustodians(std::vector<std::string> names,
                 std::vector<oprf::KeyShare> shares)
      : names_(std::move(names)), shares_(std::move(shares)) {}

  const std::vector<std::string>& names() const override { return names_; }
  void EvaluateEach(const std::shared_ptr<const v1::EvaluateRequest>& request,
                    absl::Time /*deadline*/, const AnswerDone& done) override {
    ++calls_;
    if (!concurrent_) {
      for (size_t i = 0; i < names_.size(); ++i) {
        done(names_[i], Answer(i, *request));
      }
      return;
    }
    // Every answer made first, then all delivered at once, each on a
    // thread of its own.
    std::vector<absl::StatusOr<v1::EvaluateResponse>> answers;
    for (size_t i = 0; i < names_.size(); ++i) {
      answers.push_back(Answer(i, *request));
    }
    std::vector<std::thread> threads;
    for (size_t i = 0; i < names_.size(); ++i) {
      threads.emplace_back([&, i] { done(names_[i], answers[i]); });
    }
    for (std::thread& thread : threads) thread.join();
  }

  // Answers on concurrent threads, returning once all were delivered.
  void set_concurrent() { concurrent_ = true; }

  void Set(const std::string& name, Behaviour behaviour) {
    behaviours_[name] = behaviour;
  }
  int calls() const { return calls_; }

 private:
  absl::StatusOr<v1::EvaluateResponse> Answer(
      size_t i, const v1::EvaluateRequest& request) const {
    const Behaviour behaviour = behaviours_.count(names_[i])
                                    ? behaviours_.at(names_[i])
                                    : Behaviour::kHonest;
    if (behaviour == Behaviour::kDown) {
      return absl::UnavailableError("connection refused");
    }
    oprf::Scalar secret = shares_[i].secret.get();
    if (behaviour == Behaviour::kOtherKeyProof) secret = oprf::RandomScalar();
    std::vector<oprf::Element> blinded;
    std::vector<oprf::Element> evaluated;
    for (const std::string& bytes : request.blinded_elements()) {
      blinded.push_back(*oprf::DeserializeElement(bytes, "blinded"));
      evaluated.push_back(*oprf::BlindEvaluate(secret, blinded.back()));
    }
    const oprf::Element generator =
        *oprf::ScalarMultGen(oprf::ScalarFromInt(1));
    const oprf::Proof proof = *oprf::GenerateProof(
        oprf::Mode::kVoprf, secret, generator, *oprf::ScalarMultGen(secret),
        blinded, evaluated, oprf::RandomScalar());
    if (behaviour == Behaviour::kWrongElement) {
      evaluated[0] = *oprf::ScalarMultGen(oprf::RandomScalar());
    }
    if (behaviour == Behaviour::kShortAnswer) evaluated.pop_back();
    v1::EvaluateResponse response;
    response.set_epoch(request.epoch());
    response.set_share_index(shares_[i].index);
    response.set_generation(behaviour == Behaviour::kOtherGeneration ? 1 : 0);
    for (const oprf::Element& element : evaluated) {
      response.add_evaluated_elements(oprf::Serialize(element));
    }
    response.set_proof(oprf::SerializeProof(proof));
    return response;
  }

  const std::vector<std::string> names_;
  const std::vector<oprf::KeyShare> shares_;
  std::map<std::string, Behaviour> behaviours_;
  int calls_ = 0;
  bool concurrent_ = false;
};

class BlindTokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(oprf::Init().ok());
    tokenizer_.reset();  // before the registry its families live in
    metrics_ = std::make_unique<MetricsRegistry>();
    key_ = oprf::SecretScalar(oprf::RandomScalar());
    std::vector<oprf::KeyShare> shares = *oprf::SplitKey(key_.get(), 2, 3);
    bundle_.set_suite("OPRFV1-ristretto255-SHA512-threshold");
    bundle_.set_epoch("test-epoch");
    bundle_.set_threshold(2);
    const std::vector<std::string> names = {"alpha", "beta", "gamma"};
    for (size_t i = 0; i < names.size(); ++i) {
      keys::v1::CustodianKey* custodian = bundle_.add_custodians();
      custodian->set_name(names[i]);
      custodian->set_index(shares[i].index);
      custodian->set_public_share(
          oprf::Serialize(*oprf::ScalarMultGen(shares[i].secret.get())));
    }
    custodians_ = std::make_unique<FakeCustodians>(names, shares);
    auto tokenizer = BlindTokenizer::Create(
        bundle_, custodians_.get(), /*cache_entries=*/100, metrics_.get());
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    tokenizer_ = *std::move(tokenizer);
  }

  // The token the whole key makes: RFC 9497 Evaluate, first 32 bytes.
  std::string Expected(const CanonicalIdentifier& identifier) const {
    return oprf::Evaluate(oprf::Mode::kVoprf, key_.get(),
                          TokenInput(identifier))
        ->substr(0, kTokenBytes);
  }

  TokenBatch Tokenize(const std::vector<CanonicalIdentifier>& identifiers) {
    TokenBatch result;
    bool called = false;
    tokenizer_->Tokenize(identifiers, absl::InfiniteFuture(),
                         [&](TokenBatch batch) {
                           result = std::move(batch);
                           called = true;
                         });
    EXPECT_TRUE(called);  // the fakes answer inline
    return result;
  }

  // Whether the metrics exposition has the line `line`.
  bool Exposes(const std::string& line) const {
    return absl::StrContains(metrics_->Exposition(), "\n" + line + "\n");
  }

  oprf::SecretScalar key_;
  keys::v1::TokenKeyBundle bundle_;
  std::unique_ptr<FakeCustodians> custodians_;
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<BlindTokenizer> tokenizer_;
};

TEST_F(BlindTokenizerTest, TokensAreTheWholeKeysVoprfOutputs) {
  const std::vector<CanonicalIdentifier> identifiers = {
      Phone("+16135550100"),
      Phone("+16135550101"),
      {v1::IDENTIFIER_TYPE_EMAIL, "a@example.org"}};
  TokenBatch batch = Tokenize(identifiers);
  EXPECT_THAT(batch.unanswered, IsEmpty());
  ASSERT_THAT(batch.tokens, SizeIs(3));
  for (size_t i = 0; i < identifiers.size(); ++i) {
    EXPECT_EQ(batch.tokens[i], Expected(identifiers[i])) << i;
  }
  EXPECT_NE(batch.tokens[0], batch.tokens[1]);
}

TEST_F(BlindTokenizerTest, OneCustodianDownStillMakesEveryToken) {
  custodians_->Set("alpha", Behaviour::kDown);
  TokenBatch batch = Tokenize({Phone("+16135550100")});
  EXPECT_THAT(batch.tokens, ElementsAre(Expected(Phone("+16135550100"))));
  EXPECT_THAT(batch.unanswered, IsEmpty());
}

TEST_F(BlindTokenizerTest, LyingCustodiansAreCaughtAndTheOthersDecide) {
  for (Behaviour lie : {Behaviour::kWrongElement, Behaviour::kOtherKeyProof,
                        Behaviour::kShortAnswer, Behaviour::kOtherGeneration}) {
    SetUp();  // a fresh tokenizer: nothing cached
    custodians_->Set("alpha", lie);
    TokenBatch batch = Tokenize({Phone("+16135550100"), Phone("+1613555")});
    EXPECT_THAT(batch.tokens, ElementsAre(Expected(Phone("+16135550100")),
                                          Expected(Phone("+1613555"))))
        << static_cast<int>(lie);
    // Named in the metrics as well as the log.
    EXPECT_TRUE(
        Exposes("deconfliction_custodian_answers_total{custodian=\"alpha\","
                "outcome=\"invalid\"} 1"))
        << metrics_->Exposition();
    EXPECT_TRUE(Exposes("deconfliction_tokens_total{source=\"custodians\"} 2"));
  }
}

// Answers arriving together: the round is decided once, with the right
// tokens, whichever answers were checked and whichever set aside; a lying
// custodian's answer, checked first or not, is replaced by a reserved one.
TEST_F(BlindTokenizerTest, ConcurrentAnswersDecideOnceWithTheRightTokens) {
  for (Behaviour alpha :
       {Behaviour::kHonest, Behaviour::kOtherKeyProof, Behaviour::kDown}) {
    SetUp();
    custodians_->set_concurrent();
    custodians_->Set("alpha", alpha);
    constexpr int kRounds = 20;
    for (int round = 0; round < kRounds; ++round) {
      const CanonicalIdentifier phone =
          Phone("+1613555" + std::to_string(1000 + round));
      int called = 0;
      TokenBatch result;
      tokenizer_->Tokenize({phone}, absl::InfiniteFuture(),
                           [&](TokenBatch batch) {
                             result = std::move(batch);
                             ++called;
                           });
      ASSERT_EQ(called, 1);
      EXPECT_THAT(result.tokens, ElementsAre(Expected(phone)));
      EXPECT_THAT(result.unanswered, IsEmpty());
    }
    // Every answer is counted once: checked (valid, invalid, unanswered)
    // or not needed (late).
    const std::string exposition = metrics_->Exposition();
    int counted = 0;
    for (const char* name : {"alpha", "beta", "gamma"}) {
      for (const char* outcome : {"valid", "invalid", "unanswered", "late"}) {
        const std::string prefix =
            absl::StrCat("\ndeconfliction_custodian_answers_total{custodian=\"",
                         name, "\",outcome=\"", outcome, "\"} ");
        const size_t at = exposition.find(prefix);
        if (at != std::string::npos) {
          counted += std::stoi(exposition.substr(at + prefix.size()));
        }
      }
    }
    EXPECT_EQ(counted, 3 * kRounds) << exposition;
    EXPECT_TRUE(Exposes(absl::StrCat(
        "deconfliction_tokens_total{source=\"custodians\"} ", kRounds)));
  }
}

TEST_F(BlindTokenizerTest, BelowTheThresholdNoTokenAndTheCustodiansNamed) {
  custodians_->Set("alpha", Behaviour::kDown);
  custodians_->Set("gamma", Behaviour::kOtherKeyProof);
  TokenBatch batch = Tokenize({Phone("+16135550100"), Phone("+1613555")});
  EXPECT_THAT(batch.tokens, ElementsAre("", ""));
  ASSERT_THAT(batch.unanswered, SizeIs(2));
  EXPECT_EQ(batch.unanswered[0].agency_id(), "custodian/alpha");
  EXPECT_EQ(batch.unanswered[0].code(),
            static_cast<int>(absl::StatusCode::kUnavailable));
  EXPECT_EQ(batch.unanswered[1].agency_id(), "custodian/gamma");
  EXPECT_THAT(batch.unanswered[1].message(), HasSubstr("proof"));
  EXPECT_TRUE(
      Exposes("deconfliction_custodian_answers_total{custodian=\"alpha\","
              "outcome=\"unanswered\"} 1"));
  EXPECT_TRUE(
      Exposes("deconfliction_custodian_answers_total{custodian=\"gamma\","
              "outcome=\"invalid\"} 1"));
  EXPECT_TRUE(Exposes("deconfliction_tokens_missing_total 2"));
}

TEST_F(BlindTokenizerTest, RepeatedIdentifiersComeFromTheCache) {
  Tokenize({Phone("+16135550100")});
  EXPECT_EQ(custodians_->calls(), 1);
  // Cached: the custodians are not asked, even when they are all down.
  for (const char* name : {"alpha", "beta", "gamma"}) {
    custodians_->Set(name, Behaviour::kDown);
  }
  TokenBatch batch = Tokenize({Phone("+16135550100")});
  EXPECT_EQ(custodians_->calls(), 1);
  EXPECT_THAT(batch.tokens, ElementsAre(Expected(Phone("+16135550100"))));
  EXPECT_TRUE(Exposes("deconfliction_tokens_total{source=\"cache\"} 1"));
}

TEST_F(BlindTokenizerTest, TheCacheIsBounded) {
  std::vector<CanonicalIdentifier> many;
  many.reserve(150);
  for (int i = 0; i < 150; ++i) {
    many.push_back(Phone("+1613555" + std::to_string(1000 + i)));
  }
  Tokenize(many);
  const int calls = custodians_->calls();
  // The first 50 were evicted (capacity 100): asking again needs the
  // custodians; the last one is still cached.
  Tokenize({many.back()});
  EXPECT_EQ(custodians_->calls(), calls);
  Tokenize({many.front()});
  EXPECT_EQ(custodians_->calls(), calls + 1);
}

TEST_F(BlindTokenizerTest, ACustodianTheBundleDoesNotNameIsRefused) {
  FakeCustodians stranger({"alpha", "delta"},
                          *oprf::SplitKey(key_.get(), 2, 2));
  MetricsRegistry metrics;
  auto tokenizer = BlindTokenizer::Create(bundle_, &stranger, 100, &metrics);
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tokenizer.status().message()), HasSubstr("delta"));
}

}  // namespace
}  // namespace deconfliction
