// Command-line parsing and help shared by the federation's programs.
#ifndef DECONFLICTION_CONFIG_COMMAND_LINE_H_
#define DECONFLICTION_CONFIG_COMMAND_LINE_H_

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
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

// absl::ParseCommandLine, except that a help request (--help, --helpfull,
// ...) prints its text on stdout and exits 0, as asked-for help should;
// Abseil's own exits 1. An unknown flag still exits 1 with its name.
// Returns the positional arguments, argv[0] first.
inline std::vector<char*> ParseCommandLine(int argc, char* argv[]) {
  std::vector<char*> positional = absl::flags_internal::ParseCommandLineImpl(
      argc, argv, absl::flags_internal::ArgvListAction::kRemoveParsedArgs,
      absl::flags_internal::UsageFlagsAction::kIgnoreUsage,
      absl::flags_internal::OnUndefinedFlag::kAbortIfUndefined);
  if (absl::flags_internal::HandleUsageFlags(
          std::cout, absl::ProgramUsageMessage()) >= 0) {
    std::exit(0);
  }
  return positional;
}

}  // namespace deconfliction

#endif  // DECONFLICTION_CONFIG_COMMAND_LINE_H_
