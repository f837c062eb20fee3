// SHA-256, HMAC-SHA-256 and random keys through OpenSSL, for the places that
// need a plain digest (Base58Check, legacy audit links, alert ids) or a keyed
// one (the audit chain). Thread-safe.
#ifndef DECONFLICTION_BASE_DIGEST_H_
#define DECONFLICTION_BASE_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"

namespace deconfliction {

// The 32-byte SHA-256 digest of `bytes`.
std::string Sha256(absl::string_view bytes);

// The 32-byte HMAC-SHA-256 of `bytes` under `key`.
std::string HmacSha256(absl::string_view key, absl::string_view bytes);

// `size` bytes from OpenSSL's CSPRNG; empty if it failed (never silently
// weak).
std::string RandomBytes(size_t size);

}  // namespace deconfliction

#endif  // DECONFLICTION_BASE_DIGEST_H_
