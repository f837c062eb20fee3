// SHA-256, HMAC-SHA-256 and random keys through OpenSSL, for the places that
// need a plain digest (Base58Check, legacy audit links, alert ids) or a keyed
// one (the audit chain). The functions are thread-safe; an HmacSha256 is
// used by one thread at a time.
#ifndef DECONFLICTION_BASE_DIGEST_H_
#define DECONFLICTION_BASE_DIGEST_H_

#include <openssl/types.h>

#include <string>

#include "absl/strings/string_view.h"

namespace deconfliction {

// The 32-byte SHA-256 digest of `bytes`.
std::string Sha256(absl::string_view bytes);

// HMAC-SHA-256 under one key, keyed once for many messages (a one-shot
// HMAC looks the algorithm up and hashes the key again on every call).
class HmacSha256 {
 public:
  explicit HmacSha256(absl::string_view key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  // The 32-byte HMAC-SHA-256 of `bytes`; empty if OpenSSL failed.
  std::string Mac(absl::string_view bytes);

 private:
  EVP_MAC_CTX* keyed_ = nullptr;  // null if OpenSSL failed
};

// `size` bytes from OpenSSL's CSPRNG; empty if it failed (never silently
// weak).
std::string RandomBytes(size_t size);

}  // namespace deconfliction

#endif  // DECONFLICTION_BASE_DIGEST_H_
