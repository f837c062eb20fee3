// The servers' log: one structured line per event on stderr, in logfmt,
//
//   ts=2026-11-29T09:22:06.123Z level=info program=deconflict-hub
//     component=rpc msg=call key=value ...
//
// written through spdlog (each line whole, from any thread). `ts` is UTC
// with milliseconds; `level` is info, warning or error; `program` is the
// name given to NameLogProgram ("deconfliction" before); `component` names
// the part of the server that speaks (rpc, authz, tls, hub, node,
// custodian, delivery, audit, grpc, ...). A value is quoted when it is
// empty or holds a space, '=', '"' or a character that is not printable
// ASCII, with '"' and '\' escaped and the rest as \xNN, so every line is
// one line and parses as key=value pairs, whatever text it carries.
//
// Nothing logged may hold an identifier, a contact or key material:
// callers log identities (SPIFFE IDs), methods, codes, counts and reasons.
//
// Thread safety: all functions may be called from any thread.
#ifndef DECONFLICTION_BASE_LOG_H_
#define DECONFLICTION_BASE_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace deconfliction {

enum class LogLevel { kInfo, kWarning, kError };

// One key=value pair of a line; `key` is a fixed lower_snake_case name.
struct LogField {
  LogField(absl::string_view key, std::string value)
      : key(key), value(std::move(value)) {}
  LogField(absl::string_view key, absl::string_view value)
      : key(key), value(value) {}
  LogField(absl::string_view key, const char* value) : key(key), value(value) {}
  template <typename Number,
            typename = decltype(std::to_string(std::declval<Number>()))>
  LogField(absl::string_view key, Number value)
      : key(key), value(std::to_string(value)) {}

  absl::string_view key;
  std::string value;
};

// Names the program in every line from now on; call first thing in main.
void NameLogProgram(absl::string_view program);

void Log(LogLevel level, absl::string_view component, absl::string_view message,
         std::initializer_list<LogField> fields = {});

inline void LogInfo(absl::string_view component, absl::string_view message,
                    std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, component, message, fields);
}
inline void LogWarning(absl::string_view component, absl::string_view message,
                       std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarning, component, message, fields);
}
inline void LogError(absl::string_view component, absl::string_view message,
                     std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, component, message, fields);
}

// `value` as a logfmt value: bare when it can be, else quoted and escaped.
std::string LogValue(absl::string_view value);

}  // namespace deconfliction

#endif  // DECONFLICTION_BASE_LOG_H_
