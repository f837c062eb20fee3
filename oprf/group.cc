#include "oprf/group.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace deconfliction::oprf {
namespace {

constexpr size_t kXmdBlockBytes = 128;  // SHA-512's input block

const uint8_t* Bytes(absl::string_view view) {
  return reinterpret_cast<const uint8_t*>(view.data());
}

bool IsCanonicalScalar(const Scalar& scalar) {
  // Reducing a canonical scalar leaves it unchanged.
  uint8_t wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES] = {};
  std::copy(scalar.begin(), scalar.end(), wide);
  Scalar reduced;
  crypto_core_ristretto255_scalar_reduce(reduced.data(), wide);
  return sodium_memcmp(reduced.data(), scalar.data(), kScalarBytes) == 0;
}

}  // namespace

SecretScalar::~SecretScalar() { sodium_memzero(value_.data(), value_.size()); }

void Wipe(std::string* bytes) { sodium_memzero(bytes->data(), bytes->size()); }
void Wipe(Scalar* scalar) { sodium_memzero(scalar->data(), scalar->size()); }

absl::Status Init() {
  static const int initialized = sodium_init();
  if (initialized < 0) {
    return absl::InternalError("libsodium cannot be initialized");
  }
  return absl::OkStatus();
}

std::string Hash(absl::string_view bytes) {
  std::string digest(crypto_hash_sha512_BYTES, '\0');
  crypto_hash_sha512(reinterpret_cast<uint8_t*>(digest.data()), Bytes(bytes),
                     bytes.size());
  return digest;
}

std::string I2osp2(size_t value) {
  return std::string{static_cast<char>((value >> 8) & 0xff),
                     static_cast<char>(value & 0xff)};
}

std::string ExpandMessageXmd(absl::string_view message, absl::string_view dst,
                             size_t length) {
  const size_t blocks = (length + kHashBytes - 1) / kHashBytes;
  const std::string dst_prime =
      absl::StrCat(dst, std::string(1, static_cast<char>(dst.size())));
  const std::string b0 =
      Hash(absl::StrCat(std::string(kXmdBlockBytes, '\0'), message,
                        I2osp2(length), std::string(1, '\0'), dst_prime));
  std::string uniform;
  std::string previous(kHashBytes, '\0');
  for (size_t i = 1; i <= blocks; ++i) {
    std::string mixed = b0;
    for (size_t j = 0; j < kHashBytes; ++j) mixed[j] ^= previous[j];
    previous = Hash(
        absl::StrCat(mixed, std::string(1, static_cast<char>(i)), dst_prime));
    uniform += previous;
  }
  uniform.resize(length);
  return uniform;
}

Element HashToGroup(absl::string_view input, absl::string_view dst) {
  const std::string uniform = ExpandMessageXmd(input, dst, kHashBytes);
  Element element;
  crypto_core_ristretto255_from_hash(element.data(), Bytes(uniform));
  return element;
}

Scalar HashToScalar(absl::string_view input, absl::string_view dst) {
  const std::string uniform = ExpandMessageXmd(input, dst, kHashBytes);
  Scalar scalar;
  crypto_core_ristretto255_scalar_reduce(scalar.data(), Bytes(uniform));
  return scalar;
}

Scalar RandomScalar() {
  Scalar scalar;
  do {
    crypto_core_ristretto255_scalar_random(scalar.data());
  } while (IsZero(scalar));
  return scalar;
}

Scalar ScalarFromInt(uint32_t n) {
  Scalar scalar{};
  for (size_t i = 0; i < 4; ++i) scalar[i] = static_cast<uint8_t>(n >> (8 * i));
  return scalar;
}

bool IsZero(const Scalar& scalar) {
  return sodium_is_zero(scalar.data(), scalar.size()) == 1;
}

Scalar ScalarAdd(const Scalar& a, const Scalar& b) {
  Scalar sum;
  crypto_core_ristretto255_scalar_add(sum.data(), a.data(), b.data());
  return sum;
}

Scalar ScalarSub(const Scalar& a, const Scalar& b) {
  Scalar difference;
  crypto_core_ristretto255_scalar_sub(difference.data(), a.data(), b.data());
  return difference;
}

Scalar ScalarMul(const Scalar& a, const Scalar& b) {
  Scalar product;
  crypto_core_ristretto255_scalar_mul(product.data(), a.data(), b.data());
  return product;
}

absl::StatusOr<Scalar> ScalarInverse(const Scalar& scalar) {
  Scalar inverse;
  if (crypto_core_ristretto255_scalar_invert(inverse.data(), scalar.data()) !=
      0) {
    return absl::InvalidArgumentError("the zero scalar has no inverse");
  }
  return inverse;
}

absl::StatusOr<Element> ScalarMult(const Scalar& scalar,
                                   const Element& element) {
  Element product;
  if (crypto_scalarmult_ristretto255(product.data(), scalar.data(),
                                     element.data()) != 0) {
    return absl::InvalidArgumentError(
        "scalar multiplication gave the identity element");
  }
  return product;
}

absl::StatusOr<Element> ScalarMultGen(const Scalar& scalar) {
  Element product;
  if (crypto_scalarmult_ristretto255_base(product.data(), scalar.data()) != 0) {
    return absl::InvalidArgumentError(
        "scalar multiplication gave the identity element");
  }
  return product;
}

absl::StatusOr<Element> Add(const Element& a, const Element& b) {
  Element sum;
  if (crypto_core_ristretto255_add(sum.data(), a.data(), b.data()) != 0) {
    return absl::InvalidArgumentError("not a valid ristretto255 element");
  }
  return sum;
}

absl::StatusOr<Element> DeserializeElement(absl::string_view bytes,
                                           absl::string_view field) {
  if (bytes.size() != kElementBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", bytes.size(), " bytes; expected ", kElementBytes));
  }
  Element element;
  std::copy(bytes.begin(), bytes.end(), element.begin());
  if (sodium_is_zero(element.data(), element.size()) == 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": the identity element"));
  }
  if (crypto_core_ristretto255_is_valid_point(element.data()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not a canonical ristretto255 element"));
  }
  return element;
}

absl::StatusOr<Scalar> DeserializeScalar(absl::string_view bytes,
                                         absl::string_view field) {
  if (bytes.size() != kScalarBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", bytes.size(), " bytes; expected ", kScalarBytes));
  }
  Scalar scalar;
  std::copy(bytes.begin(), bytes.end(), scalar.begin());
  if (!IsCanonicalScalar(scalar)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not below the group order"));
  }
  return scalar;
}

}  // namespace deconfliction::oprf
