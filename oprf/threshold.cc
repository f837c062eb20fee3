#include "oprf/threshold.h"

#include <set>

#include "absl/strings/str_cat.h"

namespace deconfliction::oprf {
namespace {

absl::Status CheckThreshold(int threshold, int count) {
  if (threshold < 2 || threshold > count || count > kMaxShares) {
    return absl::InvalidArgumentError(
        absl::StrCat("threshold ", threshold, " of ", count,
                     " shares: need 2 <= threshold <= shares <= ", kMaxShares));
  }
  return absl::OkStatus();
}

// f(x) for the polynomial with `coefficients` (constant term first).
Scalar EvaluatePolynomial(const std::vector<SecretScalar>& coefficients,
                          uint32_t x) {
  const Scalar point = ScalarFromInt(x);
  Scalar value{};  // Horner's rule from the highest coefficient
  for (auto it = coefficients.rbegin(); it != coefficients.rend(); ++it) {
    value = ScalarAdd(ScalarMul(value, point), it->get());
  }
  return value;
}

// Random coefficients of degree threshold - 1 with `constant` first.
std::vector<SecretScalar> RandomPolynomial(const Scalar& constant,
                                           int threshold) {
  std::vector<SecretScalar> coefficients;
  coefficients.reserve(threshold);
  coefficients.emplace_back(constant);
  for (int i = 1; i < threshold; ++i) coefficients.emplace_back(RandomScalar());
  return coefficients;
}

}  // namespace

absl::StatusOr<std::vector<KeyShare>> SplitKey(const Scalar& key, int threshold,
                                               int count) {
  if (absl::Status s = CheckThreshold(threshold, count); !s.ok()) return s;
  if (IsZero(key)) return absl::InvalidArgumentError("the key is zero");
  const std::vector<SecretScalar> f = RandomPolynomial(key, threshold);
  std::vector<KeyShare> shares(count);
  for (int i = 0; i < count; ++i) {
    shares[i].index = static_cast<uint32_t>(i + 1);
    *shares[i].secret.mutable_get() = EvaluatePolynomial(f, shares[i].index);
  }
  return shares;
}

absl::StatusOr<std::vector<KeyShare>> RefreshShares(
    const std::vector<KeyShare>& shares, int threshold, int count) {
  if (absl::Status s = CheckThreshold(threshold, count); !s.ok()) return s;
  std::set<uint32_t> indices;
  for (const KeyShare& share : shares) indices.insert(share.index);
  if (static_cast<int>(shares.size()) != count ||
      indices.size() != shares.size() || *indices.begin() != 1 ||
      *indices.rbegin() != static_cast<uint32_t>(count)) {
    return absl::InvalidArgumentError(
        "refresh needs every current share, indices 1 to n, each once");
  }
  const std::vector<SecretScalar> g = RandomPolynomial(Scalar{}, threshold);
  std::vector<KeyShare> refreshed(shares.size());
  for (size_t i = 0; i < shares.size(); ++i) {
    refreshed[i].index = shares[i].index;
    *refreshed[i].secret.mutable_get() = ScalarAdd(
        shares[i].secret.get(), EvaluatePolynomial(g, shares[i].index));
  }
  return refreshed;
}

absl::StatusOr<Scalar> LagrangeCoefficient(
    uint32_t index, const std::vector<uint32_t>& indices) {
  std::set<uint32_t> distinct(indices.begin(), indices.end());
  if (index == 0 || distinct.count(0) || distinct.size() != indices.size() ||
      !distinct.count(index)) {
    return absl::InvalidArgumentError(
        "Lagrange coefficient: indices must be distinct, non-zero and "
        "include the share's own");
  }
  const Scalar xi = ScalarFromInt(index);
  Scalar numerator = ScalarFromInt(1), denominator = ScalarFromInt(1);
  for (uint32_t j : indices) {
    if (j == index) continue;
    const Scalar xj = ScalarFromInt(j);
    numerator = ScalarMul(numerator, xj);
    denominator = ScalarMul(denominator, ScalarSub(xj, xi));
  }
  absl::StatusOr<Scalar> inverse = ScalarInverse(denominator);
  if (!inverse.ok()) return inverse.status();
  return ScalarMul(numerator, *inverse);
}

absl::StatusOr<std::vector<Element>> CombineEvaluations(
    const std::vector<ShareEvaluations>& answers, int threshold) {
  if (threshold < 2 || static_cast<int>(answers.size()) < threshold) {
    return absl::FailedPreconditionError(absl::StrCat(
        answers.size(), " evaluations; ", threshold, " are needed"));
  }
  std::vector<uint32_t> indices;
  indices.reserve(threshold);
  for (int i = 0; i < threshold; ++i) indices.push_back(answers[i].index);
  const size_t batch = answers[0].elements.size();
  std::vector<Element> combined(batch);
  for (int i = 0; i < threshold; ++i) {
    if (answers[i].elements.size() != batch) {
      return absl::InvalidArgumentError(
          absl::StrCat("share ", answers[i].index, " answered ",
                       answers[i].elements.size(), " elements, not ", batch));
    }
    absl::StatusOr<Scalar> lambda =
        LagrangeCoefficient(answers[i].index, indices);
    if (!lambda.ok()) return lambda.status();
    for (size_t j = 0; j < batch; ++j) {
      absl::StatusOr<Element> term =
          ScalarMult(*lambda, answers[i].elements[j]);
      if (!term.ok()) return term.status();
      if (i == 0) {
        combined[j] = *term;
        continue;
      }
      absl::StatusOr<Element> sum = Add(combined[j], *term);
      if (!sum.ok()) return sum.status();
      combined[j] = *sum;
    }
  }
  return combined;
}

}  // namespace deconfliction::oprf
