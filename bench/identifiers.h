// The identifiers the benchmarks register and check.
#ifndef DECONFLICTION_BENCH_IDENTIFIERS_H_
#define DECONFLICTION_BENCH_IDENTIFIERS_H_

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/deconfliction/v1/deconfliction.pb.h"

namespace deconfliction::bench {

// The e-mail address `<prefix><i>@example.org`: distinct for each prefix
// and number.
inline v1::Identifier Email(absl::string_view prefix, int i) {
  v1::Identifier identifier;
  identifier.set_type(v1::IDENTIFIER_TYPE_EMAIL);
  identifier.set_value(absl::StrCat(prefix, i, "@example.org"));
  return identifier;
}

}  // namespace deconfliction::bench

#endif  // DECONFLICTION_BENCH_IDENTIFIERS_H_
