// Every identifier type's canonicalization: the first byte picks the type
// (and whether a default region is set), the rest is the value. A value is
// canonicalized or refused with INVALID_ARGUMENT, never anything else.
#include <cstdlib>
#include <string>

#include "api/deconfliction/v1/deconfliction.pb.h"
#include "fuzz/fuzz_target.h"
#include "identifiers/canonical.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using deconfliction::v1::IdentifierType;
  if (size == 0) return 0;
  deconfliction::v1::Identifier identifier;
  const int types = deconfliction::v1::IdentifierType_MAX + 1;
  identifier.set_type(static_cast<IdentifierType>(data[0] % types));
  identifier.set_value(reinterpret_cast<const char*>(data + 1), size - 1);
  const deconfliction::CanonicalizeOptions options{(data[0] & 0x80) != 0 ? "CA"
                                                                         : ""};
  auto canonical = deconfliction::Canonicalize(identifier, options);
  if (!canonical.ok()) {
    if (canonical.status().code() != absl::StatusCode::kInvalidArgument) {
      std::abort();  // refusals are INVALID_ARGUMENT, nothing else
    }
  }
  return 0;
}
