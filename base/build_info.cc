#include "base/build_info.h"

#include "absl/strings/str_cat.h"

#ifndef DECONFLICTION_VERSION
#error "the build sets DECONFLICTION_VERSION"
#endif
#ifndef DECONFLICTION_REVISION
#define DECONFLICTION_REVISION "unknown"
#endif
#ifndef DECONFLICTION_BUILD_TYPE
#define DECONFLICTION_BUILD_TYPE "unknown"
#endif

namespace deconfliction {

const BuildInfo& Build() {
  static const BuildInfo info = {DECONFLICTION_VERSION, DECONFLICTION_REVISION,
                                 DECONFLICTION_BUILD_TYPE};
  return info;
}

std::string VersionLine(absl::string_view program, absl::string_view detail) {
  const BuildInfo& build = Build();
  return absl::StrCat(program, " ", build.version, " (revision ",
                      build.revision, ", ", build.build_type, " build)",
                      detail.empty() ? "" : "; ", detail);
}

}  // namespace deconfliction
