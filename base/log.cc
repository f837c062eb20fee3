#include "base/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"

namespace deconfliction {
namespace {

spdlog::logger& Logger() {
  static spdlog::logger* const logger = [] {
    // Unbuffered stderr; the sink's mutex keeps each line whole.
    auto* created = new spdlog::logger(
        "deconfliction", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    created->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v",
                         spdlog::pattern_time_type::utc);
    created->set_level(spdlog::level::info);
    created->flush_on(spdlog::level::info);
    return created;
  }();
  return *logger;
}

absl::Mutex program_mu(absl::kConstInit);
std::string* program ABSL_GUARDED_BY(program_mu) = nullptr;

std::string Program() {
  absl::MutexLock lock(&program_mu);
  return program == nullptr ? "deconfliction" : *program;
}

bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) return true;
  for (const char c : value) {
    if (c <= ' ' || c > '~' || c == '=' || c == '"' || c == '\\') return true;
  }
  return false;
}

}  // namespace

std::string LogValue(absl::string_view value) {
  if (!NeedsQuotes(value)) return std::string(value);
  std::string quoted = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') {
      quoted.push_back('\\');
      quoted.push_back(c);
    } else if (c < ' ' || c > '~') {
      absl::StrAppendFormat(&quoted, "\\x%02x", static_cast<unsigned char>(c));
    } else {
      quoted.push_back(c);
    }
  }
  quoted.push_back('"');
  return quoted;
}

void NameLogProgram(absl::string_view name) {
  absl::MutexLock lock(&program_mu);
  delete program;
  program = new std::string(name);
}

void Log(LogLevel level, absl::string_view component, absl::string_view message,
         std::initializer_list<LogField> fields) {
  std::string line = absl::StrCat("program=", LogValue(Program()),
                                  " component=", LogValue(component),
                                  " msg=", LogValue(message));
  for (const LogField& field : fields) {
    absl::StrAppend(&line, " ", field.key, "=", LogValue(field.value));
  }
  const spdlog::level::level_enum spd_level =
      level == LogLevel::kError     ? spdlog::level::err
      : level == LogLevel::kWarning ? spdlog::level::warn
                                    : spdlog::level::info;
  Logger().log(spd_level, "{}", line);
}

}  // namespace deconfliction
