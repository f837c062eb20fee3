// Small text steps shared by the per-type rules (type_rules.h).
#ifndef DECONFLICTION_IDENTIFIERS_TEXT_H_
#define DECONFLICTION_IDENTIFIERS_TEXT_H_

#include <string>

#include "absl/strings/ascii.h"
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

}  // namespace deconfliction::text

#endif  // DECONFLICTION_IDENTIFIERS_TEXT_H_
