#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/untrusted_text.h"
#include "identifiers/type_rules.h"
#include "phonenumbers/phonenumber.pb.h"
#include "phonenumbers/phonenumberutil.h"

namespace deconfliction::type_rules {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

const char* ParseErrorReason(PhoneNumberUtil::ErrorType error) {
  switch (error) {
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return "no valid country calling code (write it as +<code>... or give a "
             "default region)";
    case PhoneNumberUtil::NOT_A_NUMBER:
      return "not a phone number";
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return "too short to be a phone number";
    case PhoneNumberUtil::TOO_LONG_NSN:
      return "too long to be a phone number";
    default:
      return "cannot be read as a phone number";
  }
}

const char* PossibilityReason(PhoneNumberUtil::ValidationResult result) {
  switch (result) {
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
      return "invalid country calling code";
    case PhoneNumberUtil::TOO_SHORT:
      return "too short for its country";
    case PhoneNumberUtil::TOO_LONG:
      return "too long for its country";
    case PhoneNumberUtil::INVALID_LENGTH:
      return "not a possible length for its country";
    default:
      return "not a possible phone number";
  }
}

}  // namespace

absl::StatusOr<std::string> Phone(absl::string_view value,
                                  absl::string_view region) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::string region_code = absl::AsciiStrToUpper(region);
  if (!region_code.empty() && region_code != "ZZ" &&
      util.GetCountryCodeForRegion(region_code) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("default region \"", EchoForError(region),
                     "\" is not an ISO 3166-1 alpha-2 region"));
  }
  if (region_code.empty()) region_code = "ZZ";  // libphonenumber's "unknown"
  PhoneNumber number;
  PhoneNumberUtil::ErrorType error =
      util.Parse(std::string(value), region_code, &number);
  if (error != PhoneNumberUtil::NO_PARSING_ERROR) {
    return absl::InvalidArgumentError(ParseErrorReason(error));
  }
  PhoneNumberUtil::ValidationResult possible =
      util.IsPossibleNumberWithReason(number);
  if (possible != PhoneNumberUtil::IS_POSSIBLE &&
      possible != PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY) {
    return absl::InvalidArgumentError(PossibilityReason(possible));
  }
  if (possible == PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY) {
    return absl::InvalidArgumentError(
        "a local number without its area code; write it in full");
  }
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

}  // namespace deconfliction::type_rules
