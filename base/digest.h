// SHA-256 through OpenSSL's EVP interface, for the places that need a plain
// digest (Base58Check, the audit chain, alert ids). Thread-safe.
#ifndef DECONFLICTION_BASE_DIGEST_H_
#define DECONFLICTION_BASE_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"

namespace deconfliction {

// The 32-byte SHA-256 digest of `bytes`.
std::string Sha256(absl::string_view bytes);

}  // namespace deconfliction

#endif  // DECONFLICTION_BASE_DIGEST_H_
