// The jurisdictions a vehicle plate may belong to: ISO 3166-1 alpha-2
// countries ("GB") and ISO 3166-2 subdivisions ("CA-ON"), read from
// Debian's iso-codes package (/usr/share/iso-codes/json), once per process,
// at the first use. A plate under a code that is not one of them would be
// stored and never match the same plate written with the right code.
#ifndef DECONFLICTION_IDENTIFIERS_JURISDICTIONS_H_
#define DECONFLICTION_IDENTIFIERS_JURISDICTIONS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace deconfliction {

// Where iso-codes installs its JSON tables.
inline constexpr char kIsoCodesDir[] = "/usr/share/iso-codes/json";

// OK once the tables are read; FAILED_PRECONDITION naming the file when
// they cannot be (servers call it at start, to fail loudly rather than
// refuse every plate).
absl::Status CheckJurisdictionTables();

// OK when `code` (upper case) is a country or a subdivision.
// INVALID_ARGUMENT otherwise, suggesting the codes it may stand for: "ON"
// -> "CA-ON (Ontario)", "CA-ONT" -> the subdivisions of CA. FAILED_
// PRECONDITION when the tables cannot be read.
absl::Status CheckJurisdiction(absl::string_view code);

}  // namespace deconfliction

#endif  // DECONFLICTION_IDENTIFIERS_JURISDICTIONS_H_
