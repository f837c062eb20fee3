// Threshold evaluation of the token key. The key k is Shamir-shared t-of-n
// over the ristretto255 scalar field: custodian i holds k_i = f(i) for a
// random polynomial f of degree t - 1 with f(0) = k, and its public share is
// k_i * G. Any t evaluations k_i * B of one blinded element B combine, with
// Lagrange coefficients at 0, into k * B: exactly the single-key evaluation,
// so tokens are RFC 9497 VOPRF outputs under k while k exists nowhere.
// Fewer than t shares say nothing about k.
//
// Share refresh adds a random polynomial g with g(0) = 0 to every share:
// the key (and so every token) is unchanged, the public shares change, and a
// share from before the refresh no longer combines with shares from after
// it.
#ifndef DECONFLICTION_OPRF_THRESHOLD_H_
#define DECONFLICTION_OPRF_THRESHOLD_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "oprf/group.h"

namespace deconfliction::oprf {

// At most this many custodians.
inline constexpr int kMaxShares = 255;

struct KeyShare {
  uint32_t index = 0;  // 1..n, the point f is evaluated at
  SecretScalar secret;
};

// Splits `key` into `count` shares any `threshold` of which determine it.
// INVALID_ARGUMENT unless 2 <= threshold <= count <= kMaxShares and the key
// is not zero.
absl::StatusOr<std::vector<KeyShare>> SplitKey(const Scalar& key, int threshold,
                                               int count);

// New shares of the same key from all `count` current ones (indices 1 to
// `count`, each once). INVALID_ARGUMENT otherwise, or for a threshold out
// of range.
absl::StatusOr<std::vector<KeyShare>> RefreshShares(
    const std::vector<KeyShare>& shares, int threshold, int count);

// The Lagrange coefficient of `index` for interpolating at 0 over
// `indices` (which contains it). INVALID_ARGUMENT for a zero, missing or
// repeated index.
absl::StatusOr<Scalar> LagrangeCoefficient(
    uint32_t index, const std::vector<uint32_t>& indices);

// One custodian's answer for a batch: its share's index and k_i * B_j for
// every blinded element B_j of the batch, in order.
struct ShareEvaluations {
  uint32_t index = 0;
  std::vector<Element> elements;
};

// Combines the answers of distinct shares into k * B_j for every element of
// the batch, when there are at least `threshold` answers (only the first
// `threshold` are used; the Lagrange coefficients are computed once).
// FAILED_PRECONDITION when there are fewer; INVALID_ARGUMENT for repeated
// indices, answers of different lengths or bad elements.
absl::StatusOr<std::vector<Element>> CombineEvaluations(
    const std::vector<ShareEvaluations>& answers, int threshold);

}  // namespace deconfliction::oprf

#endif  // DECONFLICTION_OPRF_THRESHOLD_H_
