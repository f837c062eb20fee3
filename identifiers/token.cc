#include "identifiers/token.h"

#include "absl/strings/string_view.h"

namespace deconfliction {
namespace {

constexpr absl::string_view kDomain("deconfliction.v1/token\0", 23);

void AppendBigEndian32(uint32_t value, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

}  // namespace

std::string TokenInput(const CanonicalIdentifier& identifier) {
  std::string input(kDomain);
  input.reserve(kDomain.size() + 8 + identifier.form.size());
  AppendBigEndian32(static_cast<uint32_t>(identifier.type), &input);
  AppendBigEndian32(static_cast<uint32_t>(identifier.form.size()), &input);
  input += identifier.form;
  return input;
}

}  // namespace deconfliction
