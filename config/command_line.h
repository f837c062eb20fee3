// Command-line parsing and help shared by the federation's programs.
#ifndef DECONFLICTION_CONFIG_COMMAND_LINE_H_
#define DECONFLICTION_CONFIG_COMMAND_LINE_H_

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/program_name.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "base/build_info.h"

namespace deconfliction {

// Sets the --help text to `usage` followed by the flags defined in the
// program's own main file (`main_file`, as __FILE__ spells it) and in
// `command_files` (libraries that define commands of the program, e.g.
// storage/backup_command.h), rather than every library's, and --version's
// to VersionLine (base/build_info.h) with `version_detail` (e.g. the
// database schema it reads). Call before ParseCommandLine.
inline void SetUsage(absl::string_view usage, const char* main_file,
                     absl::string_view version_detail = "",
                     std::vector<std::string> command_files = {}) {
  static std::vector<std::string> own_files;
  static std::string detail;
  own_files = std::move(command_files);
  own_files.emplace_back(main_file);
  detail = std::string(version_detail);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) {
    for (const std::string& own : own_files) {
      if (absl::EndsWith(own, file) || absl::EndsWith(file, own)) return true;
    }
    return false;
  };
  config.normalize_filename = [](absl::string_view file) {
    return std::string(file);
  };
  config.version_string = [] {
    return VersionLine(absl::flags_internal::ShortProgramInvocationName(),
                       detail) +
           "\n";
  };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(usage);
}

// absl::ParseCommandLine, except that a help request (--help, --helpfull,
// ..., --version) prints its text on stdout and exits 0, as asked-for help
// should; Abseil's own exits 1. An unknown flag still exits 1 with its name.
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
