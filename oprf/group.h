// The prime-order group of RFC 9497's ristretto255-SHA512 suite, over
// libsodium's ristretto255 operations: elements and scalars as their 32-byte
// canonical encodings (scalars little-endian), RFC 9380's
// expand_message_xmd with SHA-512 for hashing to the group and to scalars,
// and SHA-512 as the suite's Hash.
//
// Every function checks libsodium's return value. A Scalar that holds a
// secret is wiped by its owner (SecretScalar does it on destruction).
//
// Thread safety: stateless; callable from any thread once Init() returned.
#ifndef DECONFLICTION_OPRF_GROUP_H_
#define DECONFLICTION_OPRF_GROUP_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace deconfliction::oprf {

inline constexpr size_t kElementBytes = 32;  // Ne
inline constexpr size_t kScalarBytes = 32;   // Ns
inline constexpr size_t kHashBytes = 64;     // Nh (SHA-512)

using Element = std::array<uint8_t, kElementBytes>;
using Scalar = std::array<uint8_t, kScalarBytes>;

// A scalar that is a secret (a key share, a blind): wiped when destroyed.
class SecretScalar {
 public:
  SecretScalar() = default;
  explicit SecretScalar(const Scalar& value) : value_(value) {}
  SecretScalar(const SecretScalar& other) = default;
  SecretScalar& operator=(const SecretScalar& other) = default;
  ~SecretScalar();
  const Scalar& get() const { return value_; }
  Scalar* mutable_get() { return &value_; }

 private:
  Scalar value_{};
};

// Overwrites `bytes` with zeros (secret bytes outside a SecretScalar: a
// share's serialized form, a file's text).
void Wipe(std::string* bytes);
void Wipe(Scalar* scalar);

// Initializes libsodium; INTERNAL when it cannot (the caller must not go
// on). Idempotent and thread-safe.
absl::Status Init();

// SHA-512 of `bytes`.
std::string Hash(absl::string_view bytes);

// RFC 9380 expand_message_xmd with SHA-512: `length` uniform bytes (at most
// 255 * 64) from `message` under the domain separation tag `dst` (at most
// 255 bytes).
std::string ExpandMessageXmd(absl::string_view message, absl::string_view dst,
                             size_t length);

// hash_to_ristretto255: 64 bytes of ExpandMessageXmd mapped to the group.
Element HashToGroup(absl::string_view input, absl::string_view dst);
// 64 bytes of ExpandMessageXmd read little-endian and reduced modulo the
// group order.
Scalar HashToScalar(absl::string_view input, absl::string_view dst);

// A uniformly random non-zero scalar.
Scalar RandomScalar();
// The scalar `n` (1 to 2^32 - 1).
Scalar ScalarFromInt(uint32_t n);
bool IsZero(const Scalar& scalar);
Scalar ScalarAdd(const Scalar& a, const Scalar& b);
Scalar ScalarSub(const Scalar& a, const Scalar& b);
Scalar ScalarMul(const Scalar& a, const Scalar& b);
// INVALID_ARGUMENT for zero.
absl::StatusOr<Scalar> ScalarInverse(const Scalar& scalar);

// `scalar` * `element`. INVALID_ARGUMENT when the product is the identity
// (a zero scalar, or an element that is not a valid encoding).
absl::StatusOr<Element> ScalarMult(const Scalar& scalar,
                                   const Element& element);
// `scalar` * the generator. INVALID_ARGUMENT for a zero scalar.
absl::StatusOr<Element> ScalarMultGen(const Scalar& scalar);
// `a` + `b`. INVALID_ARGUMENT when either is not a valid encoding.
absl::StatusOr<Element> Add(const Element& a, const Element& b);

// DeserializeElement and DeserializeScalar: INVALID_ARGUMENT naming `field`
// for a wrong size, a non-canonical encoding, the identity, or a scalar not
// below the group order.
absl::StatusOr<Element> DeserializeElement(absl::string_view bytes,
                                           absl::string_view field);
absl::StatusOr<Scalar> DeserializeScalar(absl::string_view bytes,
                                         absl::string_view field);

inline std::string Serialize(const Element& element) {
  return std::string(element.begin(), element.end());
}
inline std::string SerializeScalar(const Scalar& scalar) {
  return std::string(scalar.begin(), scalar.end());
}

// The two-byte big-endian length prefix of RFC 9497's transcripts.
std::string I2osp2(size_t value);

}  // namespace deconfliction::oprf

#endif  // DECONFLICTION_OPRF_GROUP_H_
