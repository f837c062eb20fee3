#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "identifiers/jurisdictions.h"
#include "identifiers/text.h"
#include "identifiers/type_rules.h"

namespace deconfliction::type_rules {

absl::StatusOr<std::string> VehiclePlate(absl::string_view value) {
  absl::StatusOr<text::Qualified> parts =
      text::SplitQualified(value, "jurisdiction:plate", "CA-ON:ABCD 123");
  if (!parts.ok()) return parts.status();
  std::string jurisdiction = absl::AsciiStrToUpper(parts->qualifier);
  if (absl::Status known = CheckJurisdiction(jurisdiction); !known.ok()) {
    return known;
  }
  std::string plate =
      absl::AsciiStrToUpper(text::WithoutChars(parts->rest, " -."));
  if (plate.empty()) return absl::InvalidArgumentError("plate is empty");
  if (plate.size() > 12) {
    return absl::InvalidArgumentError("plate longer than 12 characters");
  }
  for (char c : plate) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          "plate may hold only Latin letters, digits and separators");
    }
  }
  return absl::StrCat(jurisdiction, ":", plate);
}

}  // namespace deconfliction::type_rules
