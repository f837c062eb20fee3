// Command-line help shared by the federation's programs.
#ifndef DECONFLICTION_CONFIG_COMMAND_LINE_H_
#define DECONFLICTION_CONFIG_COMMAND_LINE_H_

#include <string>

#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace deconfliction {

// Sets the --help text to `usage` followed by the flags defined in the
// program's own main file (`main_file`, as __FILE__ spells it), rather than
// every library's. Call before absl::ParseCommandLine.
inline void SetUsage(absl::string_view usage, const char* main_file) {
  static std::string own_file;
  own_file = main_file;
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(own_file, file) || absl::EndsWith(file, own_file);
  };
  config.normalize_filename = [](absl::string_view file) {
    return std::string(file);
  };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(usage);
}

}  // namespace deconfliction

#endif  // DECONFLICTION_CONFIG_COMMAND_LINE_H_
