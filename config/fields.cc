#include "config/fields.h"

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace deconfliction {

void ResolvePath(const std::string& base, std::string* path) {
  if (!path->empty() && std::filesystem::path(*path).is_relative()) {
    *path = (std::filesystem::path(base) / *path).lexically_normal().string();
  }
}

absl::Status DefaultAndBound(uint32_t* value, uint32_t fallback, uint32_t min,
                             uint32_t max, absl::string_view field) {
  if (*value == 0) *value = fallback;
  if (*value < min || *value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", *value, " is outside ", min, "..", max));
  }
  return absl::OkStatus();
}

absl::Status ValidateAddress(const std::string& address,
                             absl::string_view field) {
  size_t colon = address.rfind(':');
  uint32_t port = 0;
  if (address.empty() || colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": \"", address, "\" is not host:port (port 0 picks one)"));
  }
  return absl::OkStatus();
}

}  // namespace deconfliction
