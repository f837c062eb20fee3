#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/untrusted_text.h"
#include "identifiers/text.h"
#include "identifiers/type_rules.h"

namespace deconfliction::type_rules {
namespace {

// The Luhn check digit that completes `body` (digits only).
char LuhnCheckDigit(absl::string_view body) {
  int sum = 0;
  // From the rightmost body digit, every other digit is doubled.
  bool doubled = true;
  for (auto it = body.rbegin(); it != body.rend(); ++it) {
    int digit = *it - '0';
    if (doubled) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    doubled = !doubled;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

}  // namespace

absl::StatusOr<std::string> Imei(absl::string_view value) {
  std::string digits = text::WithoutChars(value, " \t-./");
  if (!text::AllDigits(digits)) {
    return absl::InvalidArgumentError("may hold only digits and separators");
  }
  // The device is named by its 14-digit body (TAC + serial); the 15th digit
  // of an IMEI is a Luhn check and the last two of an IMEISV a software
  // version, so all three notations of one device share one form.
  switch (digits.size()) {
    case 14:
      break;
    case 15:
      if (LuhnCheckDigit(digits.substr(0, 14)) != digits[14]) {
        return absl::InvalidArgumentError("Luhn check digit does not match");
      }
      break;
    case 16:
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("has ", digits.size(),
                       " digits; expected 14, 15 (IMEI) or 16 (IMEISV)"));
  }
  std::string body = digits.substr(0, 14);
  if (body == std::string(14, '0')) {
    return absl::InvalidArgumentError("all zeros is not a device");
  }
  return absl::StrCat(body, std::string(1, LuhnCheckDigit(body)));
}

absl::StatusOr<std::string> MacAddress(absl::string_view value) {
  std::string hex = absl::AsciiStrToLower(
      text::WithoutChars(absl::StripAsciiWhitespace(value), ":-."));
  if (hex.size() != 12 || !text::AllHex(hex)) {
    return absl::InvalidArgumentError(
        "expected 6 bytes in hex (aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, "
        "aabb.ccdd.eeff or aabbccddeeff)");
  }
  if (hex == "000000000000" || hex == "ffffffffffff") {
    return absl::InvalidArgumentError(
        "not a device address (all zeros or "
        "broadcast)");
  }
  std::string out;
  for (size_t i = 0; i < 12; i += 2) {
    if (i > 0) out.push_back(':');
    out.append(hex, i, 2);
  }
  return out;
}

absl::StatusOr<std::string> P2pGuid(absl::string_view value) {
  std::string hex = absl::AsciiStrToLower(
      text::WithoutChars(absl::StripAsciiWhitespace(value), "{}-"));
  if (hex.size() != 32 || !text::AllHex(hex)) {
    return absl::InvalidArgumentError(
        "expected 32 hex digits (a 128-bit GUID)");
  }
  if (hex == std::string(32, '0')) {
    return absl::InvalidArgumentError("all zeros is not a client GUID");
  }
  return hex;
}

absl::StatusOr<std::string> FileHash(absl::string_view value) {
  std::string text = absl::AsciiStrToLower(absl::StripAsciiWhitespace(value));
  std::string algorithm;
  if (size_t colon = text.find(':'); colon != std::string::npos) {
    algorithm = text.substr(0, colon);
    text = text.substr(colon + 1);
  }
  if (!text::AllHex(text)) {
    return absl::InvalidArgumentError("digest must be hex digits");
  }
  std::string by_length;
  switch (text.size()) {
    case 32:
      by_length = "md5";
      break;
    case 40:
      by_length = "sha1";
      break;
    case 64:
      by_length = "sha256";
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "has ", text.size(),
          " hex digits; expected 32 (MD5), 40 (SHA-1) or 64 (SHA-256)"));
  }
  if (!algorithm.empty() && algorithm != by_length &&
      !(algorithm == "sha-1" && by_length == "sha1") &&
      !(algorithm == "sha-256" && by_length == "sha256")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prefix \"", EchoForError(algorithm), ":\" does not fit a digest of ",
        text.size(), " hex digits"));
  }
  return absl::StrCat(by_length, ":", text);
}

}  // namespace deconfliction::type_rules
