// What was built: the release version, the source revision and the build
// type, as every program's --version and every server's build_info metric
// report them. Set by the build (CMake: the project version, `git rev-parse`
// at configure time and CMAKE_BUILD_TYPE; Bazel: the same version, revision
// "unknown" and the compilation mode).
#ifndef DECONFLICTION_BASE_BUILD_INFO_H_
#define DECONFLICTION_BASE_BUILD_INFO_H_

#include <string>

#include "absl/strings/string_view.h"

namespace deconfliction {

struct BuildInfo {
  const char* version;
  const char* revision;
  const char* build_type;
};

const BuildInfo& Build();

// One line: "<program> <version> (revision <r>, <type> build)", then
// "; <detail>" when `detail` is not empty (e.g. the database schema).
std::string VersionLine(absl::string_view program, absl::string_view detail);

}  // namespace deconfliction

#endif  // DECONFLICTION_BASE_BUILD_INFO_H_
