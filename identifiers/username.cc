#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "identifiers/text.h"
#include "identifiers/type_rules.h"

namespace deconfliction::type_rules {
namespace {

struct Platform {
  const char* name;       // as written by the investigator
  const char* canonical;  // the platform's one name in the canonical form
  bool case_insensitive;  // the platform treats handles without case
};

// Platforms whose handles are unique without regard to case. A platform not
// listed here keeps the handle's case: merging two different accounts would
// be a false conflict, so only documented rules fold.
constexpr Platform kPlatforms[] = {
    {"x", "x", true},
    {"twitter", "x", true},
    {"instagram", "instagram", true},
    {"ig", "instagram", true},
    {"facebook", "facebook", true},
    {"fb", "facebook", true},
    {"tiktok", "tiktok", true},
    {"telegram", "telegram", true},
    {"tg", "telegram", true},
    {"reddit", "reddit", true},
    {"github", "github", true},
    {"gitlab", "gitlab", true},
    {"snapchat", "snapchat", true},
    {"discord", "discord", true},
    {"youtube", "youtube", true},
    {"twitch", "twitch", true},
    {"kik", "kik", true},
    {"skype", "skype", true},
    {"threads", "threads", true},
    {"linkedin", "linkedin", true},
    {"pinterest", "pinterest", true},
    {"tumblr", "tumblr", true},
    {"mastodon", "mastodon", true},
    {"signal", "signal", true},
    {"roblox", "roblox", true},
};

}  // namespace

absl::StatusOr<std::string> Username(absl::string_view value) {
  absl::StatusOr<text::Qualified> parts =
      text::SplitQualified(value, "platform:handle", "x:@someone");
  if (!parts.ok()) return parts.status();
  std::string platform = absl::AsciiStrToLower(parts->qualifier);
  absl::string_view handle = parts->rest;
  for (char c : platform) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '-' && c != '_') {
      return absl::InvalidArgumentError(
          "platform may hold only letters, digits, '.', '-' and '_'");
    }
  }
  if (!handle.empty() && handle.front() == '@') handle.remove_prefix(1);
  if (handle.empty()) return absl::InvalidArgumentError("handle is empty");
  for (char c : handle) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          "handle has a space or control character");
    }
  }
  std::string out_handle(handle);
  for (const Platform& known : kPlatforms) {
    if (platform != known.name) continue;
    platform = known.canonical;
    if (known.case_insensitive) absl::AsciiStrToLower(&out_handle);
    break;
  }
  return absl::StrCat(platform, ":", out_handle);
}

}  // namespace deconfliction::type_rules
