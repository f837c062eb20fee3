#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "identifiers/type_rules.h"
#include "unicode/normalizer2.h"
#include "unicode/uchar.h"
#include "unicode/unistr.h"

namespace deconfliction::type_rules {
namespace {

// Letters that compatibility decomposition leaves whole but that are written
// without their stroke or as two letters when a keyboard lacks them.
UChar32 FoldedLetter(UChar32 c, std::string* two_letters) {
  switch (c) {
    case 0x00F8:
      return 'o';  // ø
    case 0x0142:
      return 'l';  // ł
    case 0x0111:
      return 'd';  // đ
    case 0x0131:
      return 'i';  // dotless ı
    case 0x00E6:
      *two_letters = "ae";
      return 0;  // æ
    case 0x0153:
      *two_letters = "oe";
      return 0;  // œ
    default:
      return c;
  }
}

// Case-, accent- and spacing-folded name parts, in sorted order so that
// "Family, Given" and "Given Family" are the same person.
absl::StatusOr<std::string> FoldName(absl::string_view name) {
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfkd = icu::Normalizer2::getNFKDInstance(error);
  if (U_FAILURE(error)) {
    return absl::InternalError("Unicode normalization is unavailable");
  }
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(name.data(), static_cast<int32_t>(name.size())));
  if (text.indexOf(static_cast<UChar32>(0xFFFD)) >= 0) {
    return absl::InvalidArgumentError("name is not valid UTF-8");
  }
  text.foldCase();
  icu::UnicodeString decomposed = nfkd->normalize(text, error);
  if (U_FAILURE(error)) {
    return absl::InvalidArgumentError("name cannot be normalized");
  }
  std::vector<std::string> parts(1);
  for (int32_t i = 0; i < decomposed.length();
       i = decomposed.moveIndex32(i, 1)) {
    UChar32 c = decomposed.char32At(i);
    if (u_charType(c) == U_NON_SPACING_MARK) continue;      // accents
    if (c == '\'' || c == 0x2019 || c == 0x02BC) continue;  // O'Brien
    if (!u_isalnum(c)) {  // spaces, hyphens, commas, dots separate parts
      if (!parts.back().empty()) parts.emplace_back();
      continue;
    }
    std::string two_letters;
    UChar32 folded = FoldedLetter(c, &two_letters);
    if (!two_letters.empty()) {
      parts.back() += two_letters;
    } else {
      icu::UnicodeString(folded).toUTF8String(parts.back());
    }
  }
  if (parts.back().empty()) parts.pop_back();
  if (parts.empty()) return absl::InvalidArgumentError("name is empty");
  std::sort(parts.begin(), parts.end());
  return absl::StrJoin(parts, " ");
}

}  // namespace

absl::StatusOr<std::string> Person(absl::string_view value) {
  std::vector<absl::string_view> fields = absl::StrSplit(value, ';');
  if (fields.size() != 2) {
    return absl::InvalidArgumentError(
        "expected full name;YYYY-MM-DD (name, semicolon, date of birth)");
  }
  absl::string_view date = absl::StripAsciiWhitespace(fields[1]);
  absl::CivilDay day;
  if (date.size() != 10 || !absl::ParseCivilTime(date, &day) ||
      absl::FormatCivilTime(day) != date) {
    return absl::InvalidArgumentError(
        "date of birth must be a real date written YYYY-MM-DD");
  }
  if (day.year() < 1880 || day.year() > 2200) {
    return absl::InvalidArgumentError("date of birth is out of range");
  }
  absl::StatusOr<std::string> name = FoldName(fields[0]);
  if (!name.ok()) return name.status();
  return absl::StrCat(*name, ";", date);
}

}  // namespace deconfliction::type_rules
