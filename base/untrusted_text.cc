#include "base/untrusted_text.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace deconfliction {
namespace {

constexpr char32_t kNotUtf8 = 0xFFFFFFFF;

// Decodes the UTF-8 character at `text[*at]`, advancing `*at` past it.
// kNotUtf8 (advancing one byte) for a malformed, overlong or surrogate
// sequence or one beyond U+10FFFF.
char32_t NextCharacter(absl::string_view text, size_t* at) {
  const auto lead = static_cast<unsigned char>(text[*at]);
  size_t length = 0;
  char32_t code = 0;
  char32_t least = 0;
  if (lead < 0x80) {
    ++*at;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, code = lead & 0x1F, least = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, code = lead & 0x0F, least = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, code = lead & 0x07, least = 0x10000;
  } else {
    ++*at;
    return kNotUtf8;
  }
  if (*at + length > text.size()) {
    ++*at;
    return kNotUtf8;
  }
  for (size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[*at + i]);
    if ((next & 0xC0) != 0x80) {
      ++*at;
      return kNotUtf8;
    }
    code = (code << 6) | (next & 0x3F);
  }
  if (code < least || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    ++*at;
    return kNotUtf8;
  }
  *at += length;
  return code;
}

bool IsRefused(char32_t code) {
  return code < 0x20 || (code >= 0x7F && code <= 0x9F) || code == 0x061C ||
         code == 0x200E || code == 0x200F ||
         (code >= 0x202A && code <= 0x202E) ||
         (code >= 0x2066 && code <= 0x2069);
}

}  // namespace

absl::Status CheckFreeText(absl::string_view value, absl::string_view field,
                           size_t max_bytes) {
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": longer than ", max_bytes, " bytes"));
  }
  for (size_t at = 0; at < value.size();) {
    const size_t start = at;
    const char32_t code = NextCharacter(value, &at);
    if (code == kNotUtf8) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": not UTF-8 (byte ", start, " of ", value.size(), ")"));
    }
    if (IsRefused(code)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: control character U+%04X at byte %d (text only: no line "
          "breaks, tabs, escapes or direction overrides)",
          field, static_cast<uint32_t>(code), start));
    }
  }
  return absl::OkStatus();
}

std::string EscapeForTerminal(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t at = 0; at < value.size();) {
    const size_t start = at;
    const char32_t code = NextCharacter(value, &at);
    if (code == kNotUtf8) {
      absl::StrAppendFormat(&out, "\\x%02x",
                            static_cast<unsigned char>(value[start]));
    } else if (code < 0x80 && IsRefused(code)) {
      absl::StrAppendFormat(&out, "\\x%02x", static_cast<uint32_t>(code));
    } else if (IsRefused(code)) {
      absl::StrAppendFormat(&out, "\\u{%04x}", static_cast<uint32_t>(code));
    } else if (code == '\\') {
      out.append("\\\\");
    } else {
      out.append(value.data() + start, at - start);
    }
  }
  return out;
}

std::string EchoForError(absl::string_view value) {
  if (value.size() <= kMaxEchoBytes) return EscapeForTerminal(value);
  // Cut on a character boundary so that the cut leaves no partial UTF-8.
  size_t cut = kMaxEchoBytes;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return absl::StrCat(EscapeForTerminal(value.substr(0, cut)), "...");
}

}  // namespace deconfliction
