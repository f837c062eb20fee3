// Tokens: the only form in which an identifier crosses the federation.
//
// A token is the first kTokenBytes bytes of the RFC 9497 VOPRF output
// (suite ristretto255-SHA512) under the federation's token key, of a
// domain-separated encoding of an identifier's type and canonical form:
//   "deconfliction.v1/token" 0x00 | type (uint32, big-endian)
//   | length of form (uint32, big-endian) | form (UTF-8)
// The key is Shamir-shared among custodians and exists nowhere whole, so no
// node, hub or stolen disk can recompute tokens from guesses: a node makes
// its tokens with the custodians' help, blindly (server/node/
// blind_tokenizer.h). Storage and the wire see only the 32-byte tokens.
#ifndef DECONFLICTION_IDENTIFIERS_TOKEN_H_
#define DECONFLICTION_IDENTIFIERS_TOKEN_H_

#include <cstddef>
#include <string>

#include "identifiers/canonical.h"

namespace deconfliction {

// Size of every token, bytes.
inline constexpr size_t kTokenBytes = 32;

// The token function's input for `identifier`: the encoding above.
std::string TokenInput(const CanonicalIdentifier& identifier);

}  // namespace deconfliction

#endif  // DECONFLICTION_IDENTIFIERS_TOKEN_H_
