// Small rules shared by the configuration validators of the node and the
// hub.
#ifndef DECONFLICTION_CONFIG_FIELDS_H_
#define DECONFLICTION_CONFIG_FIELDS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace deconfliction {

// Makes a relative `path` relative to `base` (the configuration file's
// directory). Empty paths stay empty.
void ResolvePath(const std::string& base, std::string* path);

// A uint32 field where 0 means "the default": sets `*value` to `fallback`
// when 0, then INVALID_ARGUMENT naming `field` unless min <= value <= max.
absl::Status DefaultAndBound(uint32_t* value, uint32_t fallback, uint32_t min,
                             uint32_t max, absl::string_view field);

// One uint32 limit of a limits message: DefaultAndBound over its getter and
// setter.
template <typename Limits>
struct LimitRule {
  const char* field;
  uint32_t (Limits::*get)() const;
  void (Limits::*set)(uint32_t);
  uint32_t fallback, min, max;
};

// Applies every rule in order; the first violation is returned.
template <typename Limits, size_t N>
absl::Status ApplyLimits(Limits* limits, const LimitRule<Limits> (&rules)[N]) {
  for (const LimitRule<Limits>& rule : rules) {
    uint32_t value = (limits->*rule.get)();
    absl::Status status =
        DefaultAndBound(&value, rule.fallback, rule.min, rule.max, rule.field);
    if (!status.ok()) return status;
    (limits->*rule.set)(value);
  }
  return absl::OkStatus();
}

// INVALID_ARGUMENT naming `field` unless `address` is host:port.
absl::Status ValidateAddress(const std::string& address,
                             absl::string_view field);

}  // namespace deconfliction

#endif  // DECONFLICTION_CONFIG_FIELDS_H_
