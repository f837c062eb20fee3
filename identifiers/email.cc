#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "identifiers/type_rules.h"

namespace deconfliction::type_rules {
namespace {

// Providers whose aliasing rules are documented by the provider: mail to
// every alias reaches the same mailbox, so every alias is the same
// identifier. `ignores_dots`: dots in the local part are ignored.
// `canonical_domain`: the domains are one mailbox namespace.
struct Provider {
  const char* domain;
  const char* canonical_domain;
  bool ignores_dots;
  char tag_separator;
};

constexpr Provider kProviders[] = {
    {"gmail.com", "gmail.com", true, '+'},
    {"googlemail.com", "gmail.com", true, '+'},
    {"outlook.com", "outlook.com", false, '+'},
    {"hotmail.com", "hotmail.com", false, '+'},
    {"live.com", "live.com", false, '+'},
    {"icloud.com", "icloud.com", false, '+'},
    {"me.com", "me.com", false, '+'},
    {"fastmail.com", "fastmail.com", false, '+'},
    {"proton.me", "proton.me", false, '+'},
    {"protonmail.com", "protonmail.com", false, '+'},
};

bool IsLocalPartChar(char c) {
  // RFC 5322 atext plus '.', which is all that real mailboxes use.
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) !=
             absl::string_view::npos;
}

absl::Status CheckDomain(absl::string_view domain) {
  if (domain.size() > 253) return absl::InvalidArgumentError("domain too long");
  std::vector<absl::string_view> labels = absl::StrSplit(domain, '.');
  if (labels.size() < 2) {
    return absl::InvalidArgumentError("domain has no dot");
  }
  for (absl::string_view label : labels) {
    if (label.empty() || label.size() > 63 || label.front() == '-' ||
        label.back() == '-') {
      return absl::InvalidArgumentError("domain has an invalid label");
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return absl::InvalidArgumentError(
            "domain may hold only letters, digits, '-' and '.' (write "
            "internationalized domains in their xn-- form)");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> Email(absl::string_view value) {
  std::string address =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(value));
  if (absl::StartsWith(address, "mailto:")) address.erase(0, 7);
  size_t at = address.rfind('@');
  if (at == std::string::npos) {
    return absl::InvalidArgumentError("no '@'");
  }
  std::string local = address.substr(0, at);
  std::string domain = address.substr(at + 1);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (local.empty()) return absl::InvalidArgumentError("empty local part");
  if (local.size() > 64) {
    return absl::InvalidArgumentError("local part longer than 64 characters");
  }
  for (char c : local) {
    if (!IsLocalPartChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("local part has the character '",
                       absl::CHexEscape(std::string(1, c)), "'"));
    }
  }
  if (local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string::npos) {
    return absl::InvalidArgumentError("local part has a misplaced '.'");
  }
  if (absl::Status status = CheckDomain(domain); !status.ok()) return status;
  for (const Provider& provider : kProviders) {
    if (domain != provider.domain) continue;
    domain = provider.canonical_domain;
    size_t tag = local.find(provider.tag_separator);
    if (tag != std::string::npos) local.resize(tag);
    if (provider.ignores_dots) absl::StrReplaceAll({{".", ""}}, &local);
    if (local.empty()) {
      return absl::InvalidArgumentError("local part is only an alias tag");
    }
    break;
  }
  return absl::StrCat(local, "@", domain);
}

}  // namespace deconfliction::type_rules
