#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "identifiers/text.h"
#include "identifiers/type_rules.h"

namespace deconfliction::type_rules {

absl::StatusOr<std::string> IpAddress(absl::string_view value) {
  std::string text(absl::StripAsciiWhitespace(value));
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        "a prefix length is not an address; give one address");
  }
  if (text.find('%') != std::string::npos) {
    return absl::InvalidArgumentError("a zone index is not part of an address");
  }
  char out[INET6_ADDRSTRLEN];
  in_addr v4;
  // inet_pton accepts only the four-part dotted decimal form without leading
  // zeros, so "010.0.0.1" (octal to some tools) is rejected, not guessed.
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    inet_ntop(AF_INET, &v4, out, sizeof(out));
    return std::string(out);
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) {
    return absl::InvalidArgumentError("not an IPv4 or IPv6 address");
  }
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, &v6.s6_addr[12], 4);
    inet_ntop(AF_INET, &v4, out, sizeof(out));
    return std::string(out);
  }
  inet_ntop(AF_INET6, &v6, out, sizeof(out));
  return std::string(out);
}

}  // namespace deconfliction::type_rules
