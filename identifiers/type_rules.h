// Per-type canonicalization rules behind Canonicalize() (canonical.h). Each
// returns the canonical form of `value` or INVALID_ARGUMENT with the reason
// only; Canonicalize() adds the type and value to the message.
#ifndef DECONFLICTION_IDENTIFIERS_TYPE_RULES_H_
#define DECONFLICTION_IDENTIFIERS_TYPE_RULES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace deconfliction::type_rules {

// E.164 through libphonenumber; `region` reads national numbers.
absl::StatusOr<std::string> Phone(absl::string_view value,
                                  absl::string_view region);
// Case-folded `local@domain` with documented provider aliasing.
absl::StatusOr<std::string> Email(absl::string_view value);
// Canonical IPv4 text, or RFC 5952 IPv6 text; IPv4-mapped IPv6 as IPv4.
absl::StatusOr<std::string> IpAddress(absl::string_view value);
// `platform:handle` with the platform's alias and case rule applied.
absl::StatusOr<std::string> Username(absl::string_view value);
// `chain:address`, checksum verified where the format has one.
absl::StatusOr<std::string> CryptoAddress(absl::string_view value);
// `md5:`, `sha1:` or `sha256:` followed by lower-case hex.
absl::StatusOr<std::string> FileHash(absl::string_view value);
// The 15-digit IMEI (14-digit body plus Luhn check digit).
absl::StatusOr<std::string> Imei(absl::string_view value);
// `aa:bb:cc:dd:ee:ff`, lower case.
absl::StatusOr<std::string> MacAddress(absl::string_view value);
// 32 lower-case hex digits.
absl::StatusOr<std::string> P2pGuid(absl::string_view value);
// `JURISDICTION:PLATE`, upper case, plate without separators.
absl::StatusOr<std::string> VehiclePlate(absl::string_view value);
// `folded name parts in order;YYYY-MM-DD`.
absl::StatusOr<std::string> Person(absl::string_view value);

}  // namespace deconfliction::type_rules

#endif  // DECONFLICTION_IDENTIFIERS_TYPE_RULES_H_
