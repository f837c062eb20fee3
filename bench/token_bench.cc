// The cost of blind tokens on each side, in-process (no network), against
// the floor of libsodium's raw ristretto255 operations measured in the same
// run:
//   floor        crypto_scalarmult_ristretto255 (one scalar multiplication)
//                and hash-to-group, per second
//   node         Blind + Finalize per identifier (hash-to-group, 2
//                multiplications, an inversion, SHA-512)
//   custodian    BlindEvaluate of a batch of --batch elements with its one
//                batched proof, per element
//   verify       the node's check of one custodian's batched proof, per
//                element
//   combine      Lagrange combination of t answers, per element
//   whole        a node's tokenization of one identifier with t custodians
//                (blind, t verifications, combine, finalize), as the sum of
//                the parts, and the custodians' work per identifier
// Each figure is a median of 5 rounds (bench/measure.h).
//
// Usage: token_bench [--batch=1000] [--threshold=2]
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "bench/measure.h"
#include "oprf/group.h"
#include "oprf/threshold.h"
#include "oprf/voprf.h"

ABSL_FLAG(int, batch, 1000, "Elements per custodian call.");
ABSL_FLAG(int, threshold, 2, "Custodians whose answers are combined.");

namespace deconfliction {
namespace {

using oprf::Element;
using oprf::Mode;
using oprf::Scalar;

int Main() {
  if (!oprf::Init().ok()) return 1;
  const int batch = absl::GetFlag(FLAGS_batch);
  const int threshold = absl::GetFlag(FLAGS_threshold);
  const oprf::SecretScalar key(oprf::RandomScalar());
  std::vector<oprf::KeyShare> shares =
      *oprf::SplitKey(key.get(), threshold, threshold + 1);
  const Element generator = *oprf::ScalarMultGen(oprf::ScalarFromInt(1));
  const Element public_share = *oprf::ScalarMultGen(shares[0].secret.get());

  std::vector<std::string> inputs;
  std::vector<Scalar> blinds;
  std::vector<Element> blinded;
  inputs.reserve(batch);
  blinds.reserve(batch);
  blinded.reserve(batch);
  for (int i = 0; i < batch; ++i) {
    inputs.push_back(absl::StrCat("phone:+1613555", 1000000 + i));
    blinds.push_back(oprf::RandomScalar());
    blinded.push_back(*oprf::Blind(Mode::kVoprf, inputs.back(), blinds.back()));
  }
  std::vector<Element> evaluated;
  evaluated.reserve(batch);
  for (const Element& element : blinded) {
    evaluated.push_back(*oprf::BlindEvaluate(shares[0].secret.get(), element));
  }
  const oprf::Proof proof = *oprf::GenerateProof(
      Mode::kVoprf, shares[0].secret.get(), generator, public_share, blinded,
      evaluated, oprf::RandomScalar());

  std::vector<bench::Rate> rates;
  size_t i = 0;
  const Scalar scalar = oprf::RandomScalar();
  const bench::Rate mult = bench::Measure("raw scalar mult", 1, [&] {
    (void)oprf::ScalarMult(scalar, blinded[i++ % batch]);
  });
  const bench::Rate hash = bench::Measure("raw hash-to-group", 1, [&] {
    (void)oprf::HashToGroup(inputs[i++ % batch], "bench");
  });
  rates.push_back(mult);
  rates.push_back(hash);
  const bench::Rate node = bench::Measure("node blind+finalize", 1, [&] {
    const size_t k = i++ % batch;
    (void)oprf::Blind(Mode::kVoprf, inputs[k], blinds[k]);
    (void)oprf::Finalize(inputs[k], blinds[k], evaluated[k]);
  });
  rates.push_back(node);
  const bench::Rate custodian =
      bench::Measure("custodian evaluate", batch, [&] {
        std::vector<Element> out;
        out.reserve(batch);
        for (const Element& element : blinded) {
          out.push_back(*oprf::BlindEvaluate(shares[0].secret.get(), element));
        }
        (void)oprf::GenerateProof(Mode::kVoprf, shares[0].secret.get(),
                                  generator, public_share, blinded, out,
                                  oprf::RandomScalar());
      });
  rates.push_back(custodian);
  const bench::Rate verify = bench::Measure("node verify proof", batch, [&] {
    if (!oprf::VerifyProof(Mode::kVoprf, generator, public_share, blinded,
                           evaluated, proof)) {
      std::fprintf(stderr, "token_bench: proof did not verify\n");
    }
  });
  rates.push_back(verify);
  std::vector<oprf::ShareEvaluations> answers;
  answers.reserve(threshold);
  for (int t = 0; t < threshold; ++t) {
    oprf::ShareEvaluations answer{shares[t].index, {}};
    answer.elements.reserve(batch);
    for (const Element& element : blinded) {
      answer.elements.push_back(
          *oprf::BlindEvaluate(shares[t].secret.get(), element));
    }
    answers.push_back(std::move(answer));
  }
  const bench::Rate combine = bench::Measure("node combine", batch, [&] {
    (void)oprf::CombineEvaluations(answers, threshold);
  });
  rates.push_back(combine);

  // The whole tokenization of one identifier at the node, from the parts.
  const double node_seconds = 1 / node.items_per_second +
                              threshold / verify.items_per_second +
                              1 / combine.items_per_second;
  // Group operations per identifier at the node: hash-to-group, blind and
  // unblind multiplications, about 2 per element per custodian to verify,
  // threshold for combining (the additions are cheap).
  const double node_mults = 2 + 2.0 * threshold + threshold;
  const double floor_seconds =
      node_mults / mult.items_per_second + 1 / hash.items_per_second;
  std::printf(
      "blind tokens, ristretto255-SHA512, threshold %d, batches of %d\n",
      threshold, batch);
  bench::PrintRates(rates, mult, "per second");
  std::printf(
      "\nnode: %.0f identifiers/s tokenized (blind, %d proofs checked, "
      "combine, finalize); floor %.0f/s (%.0f scalar mults + 1 "
      "hash-to-group at the raw rates); ratio %.2f\n",
      1 / node_seconds, threshold, 1 / floor_seconds, node_mults,
      floor_seconds / node_seconds);
  std::printf(
      "each custodian: %.0f elements/s (1 scalar mult each + its share of "
      "the batch's proof); floor %.0f/s; ratio %.2f\n",
      custodian.items_per_second, mult.items_per_second,
      custodian.items_per_second / mult.items_per_second);
  return 0;
}

}  // namespace
}  // namespace deconfliction

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return deconfliction::Main();
}
