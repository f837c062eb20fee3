#include "oprf/voprf.h"

#include <sodium.h>

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace deconfliction::oprf {
namespace {

std::string LengthPrefixed(absl::string_view bytes) {
  return absl::StrCat(I2osp2(bytes.size()), bytes);
}

// The output hash shared by Finalize and Evaluate.
std::string FinalizeHash(absl::string_view input, const Element& unblinded) {
  return Hash(absl::StrCat(LengthPrefixed(input),
                           LengthPrefixed(Serialize(unblinded)), "Finalize"));
}

// The composite elements of a batched proof: M = sum d_i * C[i], and (when
// `k` is null, the verifier's ComputeComposites) Z = sum d_i * D[i], or
// (ComputeCompositesFast, the prover's) Z = k * M.
absl::StatusOr<std::pair<Element, Element>> ComputeComposites(
    Mode mode, const Scalar* k, const Element& b, const std::vector<Element>& c,
    const std::vector<Element>& d) {
  if (c.empty() || c.size() != d.size()) {
    return absl::InvalidArgumentError(
        "a proof needs equally long, non-empty element lists");
  }
  const std::string seed = Hash(
      absl::StrCat(LengthPrefixed(Serialize(b)),
                   LengthPrefixed(absl::StrCat("Seed-", ContextString(mode)))));
  const std::string dst = absl::StrCat("HashToScalar-", ContextString(mode));
  std::optional<Element> m, z;
  for (size_t i = 0; i < c.size(); ++i) {
    const Scalar di =
        HashToScalar(absl::StrCat(LengthPrefixed(seed), I2osp2(i),
                                  LengthPrefixed(Serialize(c[i])),
                                  LengthPrefixed(Serialize(d[i])), "Composite"),
                     dst);
    absl::StatusOr<Element> term = ScalarMult(di, c[i]);
    if (!term.ok()) return term.status();
    if (m.has_value()) {
      absl::StatusOr<Element> sum = Add(*term, *m);
      if (!sum.ok()) return sum.status();
      m = *sum;
    } else {
      m = *term;
    }
    if (k != nullptr) continue;
    absl::StatusOr<Element> z_term = ScalarMult(di, d[i]);
    if (!z_term.ok()) return z_term.status();
    if (z.has_value()) {
      absl::StatusOr<Element> sum = Add(*z_term, *z);
      if (!sum.ok()) return sum.status();
      z = *sum;
    } else {
      z = *z_term;
    }
  }
  if (k != nullptr) {
    absl::StatusOr<Element> product = ScalarMult(*k, *m);
    if (!product.ok()) return product.status();
    z = *product;
  }
  return std::make_pair(*m, *z);
}

Scalar Challenge(Mode mode, const Element& b, const Element& m,
                 const Element& z, const Element& t2, const Element& t3) {
  return HashToScalar(
      absl::StrCat(LengthPrefixed(Serialize(b)), LengthPrefixed(Serialize(m)),
                   LengthPrefixed(Serialize(z)), LengthPrefixed(Serialize(t2)),
                   LengthPrefixed(Serialize(t3)), "Challenge"),
      absl::StrCat("HashToScalar-", ContextString(mode)));
}

}  // namespace

std::string ContextString(Mode mode) {
  return absl::StrCat("OPRFV1-", std::string(1, static_cast<char>(mode)), "-",
                      kSuiteIdentifier);
}

absl::StatusOr<KeyPair> DeriveKeyPair(Mode mode, absl::string_view seed,
                                      absl::string_view info) {
  const std::string derive_input =
      absl::StrCat(seed, I2osp2(info.size()), info);
  const std::string dst = absl::StrCat("DeriveKeyPair", ContextString(mode));
  for (int counter = 0; counter <= 255; ++counter) {
    SecretScalar secret(HashToScalar(
        absl::StrCat(derive_input, std::string(1, static_cast<char>(counter))),
        dst));
    if (IsZero(secret.get())) continue;
    absl::StatusOr<Element> public_key = ScalarMultGen(secret.get());
    if (!public_key.ok()) return public_key.status();
    return KeyPair{secret, *public_key};
  }
  return absl::InvalidArgumentError("DeriveKeyPair: no non-zero key");
}

absl::StatusOr<Element> Blind(Mode mode, absl::string_view input,
                              const Scalar& blind) {
  const Element input_element =
      HashToGroup(input, absl::StrCat("HashToGroup-", ContextString(mode)));
  // ScalarMult refuses the identity, which HashToGroup maps no input to but
  // with negligible probability.
  absl::StatusOr<Element> blinded = ScalarMult(blind, input_element);
  if (!blinded.ok()) {
    return absl::InvalidArgumentError("input maps to the identity element");
  }
  return blinded;
}

absl::StatusOr<Element> BlindEvaluate(const Scalar& secret,
                                      const Element& blinded) {
  return ScalarMult(secret, blinded);
}

std::string SerializeProof(const Proof& proof) {
  return absl::StrCat(SerializeScalar(proof.c), SerializeScalar(proof.s));
}

absl::StatusOr<Proof> DeserializeProof(absl::string_view bytes,
                                       absl::string_view field) {
  if (bytes.size() != kProofBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", bytes.size(), " bytes; expected ", kProofBytes));
  }
  absl::StatusOr<Scalar> c = DeserializeScalar(bytes.substr(0, kScalarBytes),
                                               absl::StrCat(field, ".c"));
  if (!c.ok()) return c.status();
  absl::StatusOr<Scalar> s =
      DeserializeScalar(bytes.substr(kScalarBytes), absl::StrCat(field, ".s"));
  if (!s.ok()) return s.status();
  return Proof{*c, *s};
}

absl::StatusOr<Proof> GenerateProof(Mode mode, const Scalar& k,
                                    const Element& a, const Element& b,
                                    const std::vector<Element>& c,
                                    const std::vector<Element>& d,
                                    const Scalar& r) {
  auto composites = ComputeComposites(mode, &k, b, c, d);
  if (!composites.ok()) return composites.status();
  const auto& [m, z] = *composites;
  absl::StatusOr<Element> t2 = ScalarMult(r, a);
  if (!t2.ok()) return t2.status();
  absl::StatusOr<Element> t3 = ScalarMult(r, m);
  if (!t3.ok()) return t3.status();
  Proof proof;
  proof.c = Challenge(mode, b, m, z, *t2, *t3);
  proof.s = ScalarSub(r, ScalarMul(proof.c, k));
  return proof;
}

bool VerifyProof(Mode mode, const Element& a, const Element& b,
                 const std::vector<Element>& c, const std::vector<Element>& d,
                 const Proof& proof) {
  auto composites = ComputeComposites(mode, nullptr, b, c, d);
  if (!composites.ok()) return false;
  const auto& [m, z] = *composites;
  absl::StatusOr<Element> sa = ScalarMult(proof.s, a);
  absl::StatusOr<Element> cb = ScalarMult(proof.c, b);
  absl::StatusOr<Element> sm = ScalarMult(proof.s, m);
  absl::StatusOr<Element> cz = ScalarMult(proof.c, z);
  if (!sa.ok() || !cb.ok() || !sm.ok() || !cz.ok()) return false;
  absl::StatusOr<Element> t2 = Add(*sa, *cb);
  absl::StatusOr<Element> t3 = Add(*sm, *cz);
  if (!t2.ok() || !t3.ok()) return false;
  const Scalar expected = Challenge(mode, b, m, z, *t2, *t3);
  return sodium_memcmp(expected.data(), proof.c.data(), kScalarBytes) == 0;
}

absl::StatusOr<std::string> Finalize(absl::string_view input,
                                     const Scalar& blind,
                                     const Element& evaluated) {
  absl::StatusOr<Scalar> inverse = ScalarInverse(blind);
  if (!inverse.ok()) return inverse.status();
  SecretScalar wiped(*inverse);
  absl::StatusOr<Element> unblinded = ScalarMult(wiped.get(), evaluated);
  if (!unblinded.ok()) return unblinded.status();
  return FinalizeHash(input, *unblinded);
}

absl::StatusOr<std::string> Evaluate(Mode mode, const Scalar& secret,
                                     absl::string_view input) {
  const Element input_element =
      HashToGroup(input, absl::StrCat("HashToGroup-", ContextString(mode)));
  absl::StatusOr<Element> evaluated = ScalarMult(secret, input_element);
  if (!evaluated.ok()) {
    return absl::InvalidArgumentError("input maps to the identity element");
  }
  return FinalizeHash(input, *evaluated);
}

}  // namespace deconfliction::oprf
