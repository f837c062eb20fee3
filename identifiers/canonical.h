// Canonical forms of identifiers: one form per type, so that the same
// identifier written two ways always yields the same form and two different
// identifiers never do.
//
// Thread safety: every function here is safe to call from any thread.
#ifndef DECONFLICTION_IDENTIFIERS_CANONICAL_H_
#define DECONFLICTION_IDENTIFIERS_CANONICAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/deconfliction/v1/deconfliction.pb.h"

namespace deconfliction {

// An identifier reduced to its canonical form. Two identifiers are the same
// exactly when their types and forms are equal.
struct CanonicalIdentifier {
  v1::IdentifierType type = v1::IDENTIFIER_TYPE_UNSPECIFIED;
  std::string form;

  friend bool operator==(const CanonicalIdentifier& a,
                         const CanonicalIdentifier& b) {
    return a.type == b.type && a.form == b.form;
  }
};

struct CanonicalizeOptions {
  // ISO 3166-1 alpha-2 region used to read national phone numbers. Empty:
  // only international numbers (starting with '+') are accepted.
  std::string default_region;
};

// Returns the canonical form of `identifier`, or INVALID_ARGUMENT whose
// message names the type, quotes the value and says what is wrong (callers
// prefix the field path). Time-window rules (required for IP_ADDRESS and
// P2P_GUID, start not after end) are checked here too.
absl::StatusOr<CanonicalIdentifier> Canonicalize(
    const v1::Identifier& identifier, const CanonicalizeOptions& options);

// "PHONE", "EMAIL", ...: the enum value's name without its prefix.
std::string IdentifierTypeName(v1::IdentifierType type);

// Parses a short or full type name, case-insensitively: "phone", "PHONE",
// "IDENTIFIER_TYPE_PHONE", and the short aliases "ip", "crypto", "hash",
// "mac", "p2p", "plate". INVALID_ARGUMENT lists the accepted names.
absl::StatusOr<v1::IdentifierType> ParseIdentifierType(absl::string_view name);

// True for the types that identify someone only at a time (IP_ADDRESS,
// P2P_GUID): their entries match only where observation windows overlap.
bool IsTimeBound(v1::IdentifierType type);

// Whether two windows overlap; an absent bound is open.
bool WindowsOverlap(const v1::TimeWindow& a, const v1::TimeWindow& b);

}  // namespace deconfliction

#endif  // DECONFLICTION_IDENTIFIERS_CANONICAL_H_
