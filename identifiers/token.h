// Tokens: the only form in which an identifier crosses the federation.
//
// A token is HMAC-SHA-256, under the federation key, of a domain-separated
// encoding of an identifier's type and canonical form:
//   "deconfliction.v1/token" 0x00 | type (uint32, big-endian)
//   | length of form (uint32, big-endian) | form (UTF-8)
// The hub never holds the key, so it cannot recompute tokens from guesses.
// Storage and the wire see only TokenFunction, so a blind (OPRF) scheme can
// replace HMAC without touching either.
#ifndef DECONFLICTION_IDENTIFIERS_TOKEN_H_
#define DECONFLICTION_IDENTIFIERS_TOKEN_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "identifiers/canonical.h"

typedef struct evp_mac_ctx_st EVP_MAC_CTX;

namespace deconfliction {

// Size of every token, bytes.
inline constexpr size_t kTokenBytes = 32;

// Maps canonical identifiers to tokens. Implementations are immutable after
// construction and safe to call from any number of threads.
class TokenFunction {
 public:
  virtual ~TokenFunction() = default;
  // Returns exactly kTokenBytes bytes.
  virtual std::string Tokenize(const CanonicalIdentifier& identifier) const = 0;
};

// HMAC-SHA-256 through OpenSSL's EVP_MAC interface.
class HmacTokenFunction final : public TokenFunction {
 public:
  // Minimum and maximum key sizes, bytes.
  static constexpr size_t kMinKeyBytes = 32;
  static constexpr size_t kMaxKeyBytes = 1024;

  // Reads the key file. FAILED_PRECONDITION when the file is missing, not a
  // regular file, shorter than kMinKeyBytes, longer than kMaxKeyBytes, or
  // readable or writable by group or others. The file's bytes are the key.
  static absl::StatusOr<std::unique_ptr<HmacTokenFunction>> FromKeyFile(
      const std::string& path);
  // INVALID_ARGUMENT when the key's size is out of range.
  static absl::StatusOr<std::unique_ptr<HmacTokenFunction>> FromKey(
      absl::string_view key);

  ~HmacTokenFunction() override;
  HmacTokenFunction(const HmacTokenFunction&) = delete;
  HmacTokenFunction& operator=(const HmacTokenFunction&) = delete;

  std::string Tokenize(const CanonicalIdentifier& identifier) const override;

 private:
  explicit HmacTokenFunction(EVP_MAC_CTX* keyed) : keyed_(keyed) {}
  // Initialized with the key; each Tokenize works on a duplicate.
  EVP_MAC_CTX* keyed_;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_IDENTIFIERS_TOKEN_H_
