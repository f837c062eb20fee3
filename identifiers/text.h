// Small text steps shared by the per-type rules (type_rules.h).
#ifndef DECONFLICTION_IDENTIFIERS_TEXT_H_
#define DECONFLICTION_IDENTIFIERS_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace deconfliction::text {

// `value` without any of the characters in `separators`.
inline std::string WithoutChars(absl::string_view value,
                                absl::string_view separators) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (separators.find(c) == absl::string_view::npos) out.push_back(c);
  }
  return out;
}

inline bool AllHex(absl::string_view value) {
  for (char c : value) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

inline bool AllDigits(absl::string_view value) {
  for (char c : value) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A value qualified by what it belongs to: `qualifier:rest` (platform,
// chain, jurisdiction), both sides trimmed; the qualifier is not yet
// case-folded.
struct Qualified {
  absl::string_view qualifier;
  absl::string_view rest;
};

// Splits at the first ':'. INVALID_ARGUMENT "expected <form> (e.g.
// <example>)" when there is none or the qualifier is empty.
inline absl::StatusOr<Qualified> SplitQualified(absl::string_view value,
                                                absl::string_view form,
                                                absl::string_view example) {
  value = absl::StripAsciiWhitespace(value);
  size_t colon = value.find(':');
  Qualified out;
  if (colon != absl::string_view::npos) {
    out.qualifier = absl::StripAsciiWhitespace(value.substr(0, colon));
    out.rest = absl::StripAsciiWhitespace(value.substr(colon + 1));
  }
  if (colon == absl::string_view::npos || out.qualifier.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", form, " (e.g. ", example, ")"));
  }
  return out;
}

}  // namespace deconfliction::text

#endif  // DECONFLICTION_IDENTIFIERS_TEXT_H_
