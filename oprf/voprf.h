// RFC 9497 (Oblivious Pseudorandom Functions using Prime-Order Groups),
// suite ristretto255-SHA512, in OPRF and VOPRF modes. Each function is one
// of the RFC's steps under its name, so it can be checked line by line
// against the pseudocode; the RFC's test vectors are its first tests
// (tests/oprf_test.cc).
//
//   client                          server (key k, public key k*G)
//   blinded = Blind(input, r)  --->
//                              <--- evaluated = BlindEvaluate(k, blinded)
//                                   proof = GenerateProof(k, G, k*G,
//                                                         [blinded...],
//                                                         [evaluated...])
//   VerifyProof(G, k*G, [blinded...], [evaluated...], proof)
//   output = Finalize(input, r, evaluated)
//
// Errors are INVALID_ARGUMENT (an input that hashes to the identity, a
// malformed element or scalar). Secrets (keys, blinds) are the caller's to
// wipe; see oprf/group.h's SecretScalar.
#ifndef DECONFLICTION_OPRF_VOPRF_H_
#define DECONFLICTION_OPRF_VOPRF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "oprf/group.h"

namespace deconfliction::oprf {

enum class Mode : uint8_t { kOprf = 0x00, kVoprf = 0x01 };

inline constexpr char kSuiteIdentifier[] = "ristretto255-SHA512";
inline constexpr size_t kProofBytes = 2 * kScalarBytes;

// CreateContextString(mode, "ristretto255-SHA512").
std::string ContextString(Mode mode);

struct KeyPair {
  SecretScalar secret;
  Element public_key;
};

// DeriveKeyPair(seed, info).
absl::StatusOr<KeyPair> DeriveKeyPair(Mode mode, absl::string_view seed,
                                      absl::string_view info);

// Blind(input) with the blind given (RandomScalar() outside tests).
absl::StatusOr<Element> Blind(Mode mode, absl::string_view input,
                              const Scalar& blind);

// BlindEvaluate(skS, blindedElement), without the proof.
absl::StatusOr<Element> BlindEvaluate(const Scalar& secret,
                                      const Element& blinded);

struct Proof {
  Scalar c{};
  Scalar s{};
};
std::string SerializeProof(const Proof& proof);
absl::StatusOr<Proof> DeserializeProof(absl::string_view bytes,
                                       absl::string_view field);

// GenerateProof(k, A, B, C, D) with the proof's random scalar `r` given
// (RandomScalar() outside tests): a batched DLEQ proof that k*A == B and
// k*C[i] == D[i] for every i. INVALID_ARGUMENT for empty or unequal lists.
absl::StatusOr<Proof> GenerateProof(Mode mode, const Scalar& k,
                                    const Element& a, const Element& b,
                                    const std::vector<Element>& c,
                                    const std::vector<Element>& d,
                                    const Scalar& r);

// VerifyProof(A, B, C, D, proof); false also for empty or unequal lists or
// elements that are not valid.
bool VerifyProof(Mode mode, const Element& a, const Element& b,
                 const std::vector<Element>& c, const std::vector<Element>& d,
                 const Proof& proof);

// Finalize(input, blind, evaluatedElement), after any proof was verified:
// kHashBytes bytes.
absl::StatusOr<std::string> Finalize(absl::string_view input,
                                     const Scalar& blind,
                                     const Element& evaluated);

// Evaluate(skS, input): the output computed by whoever holds the key.
absl::StatusOr<std::string> Evaluate(Mode mode, const Scalar& secret,
                                     absl::string_view input);

}  // namespace deconfliction::oprf

#endif  // DECONFLICTION_OPRF_VOPRF_H_
