// RFC 9497's test vectors for ristretto255-SHA512 (OPRF and VOPRF modes,
// Appendix A.1), then the threshold scheme: every t-subset of n shares
// evaluates as the single key does; fewer cannot; a refresh keeps the key
// and breaks old shares; a custodian's bad answer is caught by its proof.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oprf/group.h"
#include "oprf/threshold.h"
#include "oprf/voprf.h"

namespace deconfliction::oprf {
namespace {

std::string Hex(const std::string& bytes) {
  return absl::BytesToHexString(bytes);
}
template <size_t N>
std::string Hex(const std::array<uint8_t, N>& bytes) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes.data()), N));
}
std::string Unhex(const std::string& hex) {
  return absl::HexStringToBytes(hex);
}
Scalar ScalarOf(const std::string& hex) {
  return *DeserializeScalar(Unhex(hex), "test");
}

const std::string kSeed(32, '\xa3');
constexpr char kKeyInfo[] = "test key";

class OprfTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Init().ok()); }
};

TEST_F(OprfTest, ExpandMessageXmdMatchesRfc9380) {
  // RFC 9380, Appendix K.3 (expand_message_xmd, SHA-512).
  EXPECT_EQ(
      Hex(ExpandMessageXmd("", "QUUX-V01-CS02-with-expander-SHA512-256", 0x20)),
      "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba");
  EXPECT_EQ(Hex(ExpandMessageXmd(
                "abc", "QUUX-V01-CS02-with-expander-SHA512-256", 0x20)),
            "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc");
}

struct OprfVector {
  std::string input, blind, blinded, evaluated, output;
};

TEST_F(OprfTest, Rfc9497OprfModeVectors) {
  absl::StatusOr<KeyPair> key = DeriveKeyPair(Mode::kOprf, kSeed, kKeyInfo);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(Hex(key->secret.get()),
            "5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e");
  const OprfVector vectors[] = {
      {"00", "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706",
       "609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c",
       "7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2d8cc917ea0869c7e",
       "527759c3d9366f277d8c6020418d96bb393ba2afb20ff90df23fb7708264e2f3ab9135e"
       "3bd69955851de4b1f9fe8a0973396719b7912ba9ee8aa7d0b5e24bcf6"},
      {"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
       "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706",
       "da27ef466870f5f15296299850aa088629945a17d1f5b7f5ff043f76b3c06418",
       "b4cbf5a4f1eeda5a63ce7b77c7d23f461db3fcab0dd28e4e17cecb5c90d02c25",
       "f4a74c9c592497375e796aa837e907b1a045d34306a749db9f34221f7e750cb4f2a6413"
       "a6bf6fa5e19ba6348eb673934a722a7ede2e7621306d18951e7cf2c73"},
  };
  for (const OprfVector& v : vectors) {
    const std::string input = Unhex(v.input);
    absl::StatusOr<Element> blinded =
        Blind(Mode::kOprf, input, ScalarOf(v.blind));
    ASSERT_TRUE(blinded.ok());
    EXPECT_EQ(Hex(*blinded), v.blinded);
    absl::StatusOr<Element> evaluated =
        BlindEvaluate(key->secret.get(), *blinded);
    ASSERT_TRUE(evaluated.ok());
    EXPECT_EQ(Hex(*evaluated), v.evaluated);
    absl::StatusOr<std::string> output =
        Finalize(input, ScalarOf(v.blind), *evaluated);
    ASSERT_TRUE(output.ok());
    EXPECT_EQ(Hex(*output), v.output);
    EXPECT_EQ(Hex(*Evaluate(Mode::kOprf, key->secret.get(), input)), v.output);
  }
}

struct VoprfVector {
  std::string input, blind, blinded, evaluated, proof, proof_random, output;
};

class VoprfVectorsTest : public OprfTest {
 protected:
  void SetUp() override {
    OprfTest::SetUp();
    absl::StatusOr<KeyPair> derived =
        DeriveKeyPair(Mode::kVoprf, kSeed, kKeyInfo);
    ASSERT_TRUE(derived.ok());
    key_ = *std::move(derived);
    ASSERT_TRUE(ScalarMultGen(ScalarFromInt(1)).ok());
    generator_ = *ScalarMultGen(ScalarFromInt(1));
  }

  // One batch: inputs, blinds, ... separated by commas as in the RFC.
  void Check(const VoprfVector& v) {
    const std::vector<std::string> inputs = absl::StrSplit(v.input, ',');
    const std::vector<std::string> blinds = absl::StrSplit(v.blind, ',');
    const std::vector<std::string> blinded_hex = absl::StrSplit(v.blinded, ',');
    const std::vector<std::string> evaluated_hex =
        absl::StrSplit(v.evaluated, ',');
    const std::vector<std::string> outputs = absl::StrSplit(v.output, ',');
    std::vector<Element> blinded, evaluated;
    for (size_t i = 0; i < inputs.size(); ++i) {
      absl::StatusOr<Element> b =
          Blind(Mode::kVoprf, Unhex(inputs[i]), ScalarOf(blinds[i]));
      ASSERT_TRUE(b.ok());
      EXPECT_EQ(Hex(*b), blinded_hex[i]);
      blinded.push_back(*b);
      absl::StatusOr<Element> e = BlindEvaluate(key_.secret.get(), *b);
      ASSERT_TRUE(e.ok());
      EXPECT_EQ(Hex(*e), evaluated_hex[i]);
      evaluated.push_back(*e);
    }
    absl::StatusOr<Proof> proof = GenerateProof(
        Mode::kVoprf, key_.secret.get(), generator_, key_.public_key, blinded,
        evaluated, ScalarOf(v.proof_random));
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(Hex(SerializeProof(*proof)), v.proof);
    EXPECT_TRUE(VerifyProof(Mode::kVoprf, generator_, key_.public_key, blinded,
                            evaluated, *proof));
    for (size_t i = 0; i < inputs.size(); ++i) {
      absl::StatusOr<std::string> output =
          Finalize(Unhex(inputs[i]), ScalarOf(blinds[i]), evaluated[i]);
      ASSERT_TRUE(output.ok());
      EXPECT_EQ(Hex(*output), outputs[i]);
    }
  }

  KeyPair key_;
  Element generator_{};
};

TEST_F(VoprfVectorsTest, Rfc9497VoprfModeKey) {
  EXPECT_EQ(Hex(key_.secret.get()),
            "e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909");
  EXPECT_EQ(Hex(key_.public_key),
            "c803e2cc6b05fc15064549b5920659ca4a77b2cca6f04f6b357009335476ad4e");
}

TEST_F(VoprfVectorsTest, Rfc9497VoprfModeVector1) {
  Check({"00",
         "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706",
         "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945",
         "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e",
         "ddef93772692e535d1a53903db24367355cc2cc78de93b3be5a8ffcc6985dd066d434"
         "6421d17bf5117a2a1ff0fcb2a759f58a539dfbe857a40bce4cf49ec600d",
         "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e",
         "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7da4d85"
         "27693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c"});
}

TEST_F(VoprfVectorsTest, Rfc9497VoprfModeVector2) {
  Check({"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
         "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706",
         "cc0b2a350101881d8a4cba4c80241d74fb7dcbfde4a61fde2f91443c2bf9ef0c",
         "60a59a57208d48aca71e9e850d22674b611f752bed48b36f7a91b372bd7ad468",
         "401a0da6264f8cf45bb2f5264bc31e109155600babb3cd4e5af7d181a2c9dc0a67154"
         "fabf031fd936051dec80b0b6ae29c9503493dde7393b722eafdf5a50b02",
         "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e",
         "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60356f4"
         "610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6"});
}

TEST_F(VoprfVectorsTest, Rfc9497VoprfModeVector3Batched) {
  Check({"00,5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
         "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706,"
         "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e",
         "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945,"
         "90a0145ea9da29254c3a56be4fe185465ebb3bf2a1801f7124bbbadac751e654",
         "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e,"
         "cc5ac221950a49ceaa73c8db41b82c20372a4c8d63e5dded2db920b7eee36a2a",
         "cc203910175d786927eeb44ea847328047892ddf8590e723c37205cb74600b0a5ab53"
         "37c8eb4ceae0494c2cf89529dcf94572ed267473d567aeed6ab873dee08",
         "419c4f4f5052c53c45f3da494d2b67b220d02118e0857cdbcf037f9ea84bbe0c",
         "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7da4d85"
         "27693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c,"
         "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60356f4"
         "610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6"});
}

TEST_F(OprfTest, MalformedElementsAndScalarsAreRefusedNamingTheField) {
  EXPECT_EQ(DeserializeElement(std::string(31, '\1'), "evaluated[0]")
                .status()
                .message(),
            "evaluated[0]: 31 bytes; expected 32");
  EXPECT_FALSE(
      DeserializeElement(std::string(32, '\0'), "e").ok());  // identity
  EXPECT_FALSE(DeserializeElement(std::string(32, '\xff'), "e").ok());
  EXPECT_FALSE(DeserializeScalar(std::string(32, '\xff'), "s").ok());
}

// --- the threshold scheme

class ThresholdTest : public OprfTest {
 protected:
  void SetUp() override {
    OprfTest::SetUp();
    key_ = SecretScalar(RandomScalar());
    absl::StatusOr<std::vector<KeyShare>> shares =
        SplitKey(key_.get(), kThreshold, kShares);
    ASSERT_TRUE(shares.ok()) << shares.status();
    shares_ = *std::move(shares);
    blinded_ = *Blind(Mode::kVoprf, "phone:+16135550100", RandomScalar());
    expected_ = *BlindEvaluate(key_.get(), blinded_);
  }

  ShareEvaluations EvaluationBy(const KeyShare& share) {
    return {share.index, {*BlindEvaluate(share.secret.get(), blinded_)}};
  }
  // The one element the shares' answers combine into, or why not.
  static absl::StatusOr<Element> Combine(
      const std::vector<ShareEvaluations>& answers, int threshold) {
    absl::StatusOr<std::vector<Element>> combined =
        CombineEvaluations(answers, threshold);
    if (!combined.ok()) return combined.status();
    return combined->at(0);
  }

  static constexpr int kThreshold = 3;
  static constexpr int kShares = 5;
  SecretScalar key_;
  std::vector<KeyShare> shares_;
  Element blinded_{};
  Element expected_{};
};

TEST_F(ThresholdTest, EveryThresholdSubsetEvaluatesAsTheWholeKey) {
  int subsets = 0;
  for (int mask = 0; mask < (1 << kShares); ++mask) {
    if (__builtin_popcount(mask) != kThreshold) continue;
    std::vector<ShareEvaluations> evaluations;
    for (int i = 0; i < kShares; ++i) {
      if (mask & (1 << i)) evaluations.push_back(EvaluationBy(shares_[i]));
    }
    absl::StatusOr<Element> combined = Combine(evaluations, kThreshold);
    ASSERT_TRUE(combined.ok()) << combined.status();
    EXPECT_EQ(*combined, expected_) << "subset " << mask;
    ++subsets;
  }
  EXPECT_EQ(subsets, 10);  // 5 choose 3
}

TEST_F(ThresholdTest, FewerThanThresholdSharesCannotEvaluate) {
  std::vector<ShareEvaluations> two = {EvaluationBy(shares_[0]),
                                       EvaluationBy(shares_[3])};
  EXPECT_EQ(Combine(two, kThreshold).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Interpolating as if two were enough gives some other element.
  absl::StatusOr<Element> wrong = Combine(two, 2);
  ASSERT_TRUE(wrong.ok());
  EXPECT_NE(*wrong, expected_);
}

TEST_F(ThresholdTest, RefreshKeepsTheKeyAndOldSharesNoLongerCombine) {
  absl::StatusOr<std::vector<KeyShare>> fresh =
      RefreshShares(shares_, kThreshold, kShares);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  for (int i = 0; i < kShares; ++i) {
    EXPECT_NE((*fresh)[i].secret.get(), shares_[i].secret.get());
  }
  EXPECT_EQ(*Combine({EvaluationBy((*fresh)[0]), EvaluationBy((*fresh)[2]),
                      EvaluationBy((*fresh)[4])},
                     kThreshold),
            expected_);
  // A share stolen before the refresh, with two from after it: wrong.
  EXPECT_NE(*Combine({EvaluationBy(shares_[0]), EvaluationBy((*fresh)[2]),
                      EvaluationBy((*fresh)[4])},
                     kThreshold),
            expected_);
  // Refresh needs every share.
  std::vector<KeyShare> missing(fresh->begin(), fresh->begin() + 4);
  EXPECT_FALSE(RefreshShares(missing, kThreshold, kShares).ok());
}

TEST_F(ThresholdTest, ACustodiansProofCatchesAWrongElementOrAnotherKey) {
  const Element generator = *ScalarMultGen(ScalarFromInt(1));
  const KeyShare& share = shares_[1];
  const Element public_share = *ScalarMultGen(share.secret.get());
  const Element evaluated = *BlindEvaluate(share.secret.get(), blinded_);
  const Proof proof =
      *GenerateProof(Mode::kVoprf, share.secret.get(), generator, public_share,
                     {blinded_}, {evaluated}, RandomScalar());
  EXPECT_TRUE(VerifyProof(Mode::kVoprf, generator, public_share, {blinded_},
                          {evaluated}, proof));
  // A wrong element under a proof made for the right one.
  const Element wrong = *BlindEvaluate(shares_[2].secret.get(), blinded_);
  EXPECT_FALSE(VerifyProof(Mode::kVoprf, generator, public_share, {blinded_},
                           {wrong}, proof));
  // A consistent answer under another key, checked against this public share.
  const Proof other =
      *GenerateProof(Mode::kVoprf, shares_[2].secret.get(), generator,
                     *ScalarMultGen(shares_[2].secret.get()), {blinded_},
                     {wrong}, RandomScalar());
  EXPECT_FALSE(VerifyProof(Mode::kVoprf, generator, public_share, {blinded_},
                           {wrong}, other));
}

TEST_F(ThresholdTest, OutOfRangeThresholdsAreRefused) {
  EXPECT_FALSE(SplitKey(key_.get(), 1, 3).ok());
  EXPECT_FALSE(SplitKey(key_.get(), 4, 3).ok());
  EXPECT_FALSE(SplitKey(Scalar{}, 2, 3).ok());
}

}  // namespace
}  // namespace deconfliction::oprf
