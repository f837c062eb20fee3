#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "identifiers/text.h"
#include "identifiers/type_rules.h"

namespace deconfliction::type_rules {
namespace {

// ISO 3166-1 alpha-2, optionally with an ISO 3166-2 subdivision: "GB",
// "CA-ON", "US-NY".
bool IsJurisdiction(absl::string_view code) {
  if (code.size() < 2 || !absl::ascii_isalpha(code[0]) ||
      !absl::ascii_isalpha(code[1])) {
    return false;
  }
  if (code.size() == 2) return true;
  if (code[2] != '-' || code.size() < 4 || code.size() > 6) return false;
  for (char c : code.substr(3)) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> VehiclePlate(absl::string_view value) {
  absl::StatusOr<text::Qualified> parts =
      text::SplitQualified(value, "jurisdiction:plate", "CA-ON:ABCD 123");
  if (!parts.ok()) return parts.status();
  std::string jurisdiction = absl::AsciiStrToUpper(parts->qualifier);
  if (!IsJurisdiction(jurisdiction)) {
    return absl::InvalidArgumentError(
        "jurisdiction must be ISO 3166 (\"GB\", \"CA-ON\", \"US-NY\")");
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
