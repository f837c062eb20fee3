#include "server/hub/sharing_policy.h"

#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/hits.h"

namespace deconfliction {

absl::StatusOr<CommonIdentifiers> CommonIdentifiers::Load(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy.common_identifiers_file: cannot read ", path));
  }
  CommonIdentifiers common;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    // A '#' starts a comment, on its own line or after the token (as
    // `deconflict-node --tokenize_csv` writes the identifier's type).
    absl::string_view text = line;
    text = absl::StripAsciiWhitespace(text.substr(0, text.find('#')));
    if (text.empty()) continue;
    bool hex = text.size() == 64;
    for (char c : text) hex = hex && absl::ascii_isxdigit(c);
    if (!hex) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", number, ": expected a token of 64 hex digits"));
    }
    common.tokens_.insert(absl::HexStringToBytes(text));
  }
  return common;
}

v1::Hit ShareHit(const v1::TokenHit& hit, const std::string& owner,
                 const config::v1::SharingPolicy& policy, bool* silent_owner) {
  v1::Hit shared;
  *silent_owner = hit.sharing() == v1::SHARING_SILENT;
  if (*silent_owner) {
    shared.set_agency_id(policy.coordination_centre_agency_id());
    *shared.mutable_contact() = policy.coordination_centre_contact();
    shared.set_caveat(
        "silent entry: contact the coordination centre, who will put you in "
        "touch with the investigation");
    shared.set_silent(true);
    return shared;
  }
  return HitFromTokenHit(hit, owner);
}

}  // namespace deconfliction
