#include "identifiers/identifier_input.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/timestamps.h"
#include "identifiers/canonical.h"

namespace deconfliction {
namespace {

absl::Status ParseTime(absl::string_view text, absl::string_view what,
                       google::protobuf::Timestamp* out) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": \"", text, "\" is not an RFC 3339 time (", error, ")"));
  }
  *out = ToTimestamp(time);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Identifier> ParseIdentifierArg(absl::string_view arg) {
  size_t colon = arg.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", arg, "\": expected TYPE:VALUE (e.g. phone:+16135550100)"));
  }
  absl::StatusOr<v1::IdentifierType> type =
      ParseIdentifierType(arg.substr(0, colon));
  if (!type.ok()) return type.status();
  v1::Identifier identifier;
  identifier.set_type(*type);
  identifier.set_value(std::string(arg.substr(colon + 1)));
  return identifier;
}

absl::StatusOr<v1::TimeWindow> ParseTimeWindow(absl::string_view text) {
  size_t slash = text.find('/');
  if (slash == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\": expected START/END in RFC 3339"));
  }
  return ParseTimeBounds(text.substr(0, slash), text.substr(slash + 1));
}

absl::StatusOr<v1::TimeWindow> ParseTimeBounds(absl::string_view start,
                                               absl::string_view end) {
  v1::TimeWindow window;
  start = absl::StripAsciiWhitespace(start);
  end = absl::StripAsciiWhitespace(end);
  if (!start.empty()) {
    if (absl::Status s = ParseTime(start, "start", window.mutable_start());
        !s.ok()) {
      return s;
    }
  }
  if (!end.empty()) {
    if (absl::Status s = ParseTime(end, "end", window.mutable_end()); !s.ok()) {
      return s;
    }
  }
  return window;
}

absl::StatusOr<std::vector<std::string>> SplitCsvLine(absl::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back().push_back(c);
      }
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back().push_back(c);
    }
  }
  if (quoted) return absl::InvalidArgumentError("unterminated quoted field");
  return fields;
}

bool IdentifierCsvReader::Next(CsvIdentifier* row, absl::Status* error) {
  std::string line;
  while (std::getline(*in_, line)) {
    ++line_;
    absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    *error = absl::OkStatus();
    row->line = line_;
    row->identifier.Clear();
    auto fail = [&](absl::string_view reason) {
      *error = absl::InvalidArgumentError(
          absl::StrCat("line ", line_, ": ", reason));
      return true;
    };
    absl::StatusOr<std::vector<std::string>> fields = SplitCsvLine(line);
    if (!fields.ok()) return fail(fields.status().message());
    if (line_ == 1 && absl::AsciiStrToLower(
                          absl::StripAsciiWhitespace((*fields)[0])) == "type") {
      continue;  // header
    }
    if (fields->size() < 2 || fields->size() > 4) {
      return fail("expected type,value[,observed_start,observed_end]");
    }
    absl::StatusOr<v1::IdentifierType> type =
        ParseIdentifierType(absl::StripAsciiWhitespace((*fields)[0]));
    if (!type.ok()) return fail(type.status().message());
    row->identifier.set_type(*type);
    row->identifier.set_value((*fields)[1]);
    if (fields->size() > 2) {
      absl::StatusOr<v1::TimeWindow> observed = ParseTimeBounds(
          (*fields)[2], fields->size() > 3 ? (*fields)[3] : std::string());
      if (!observed.ok()) return fail(observed.status().message());
      *row->identifier.mutable_observed() = *observed;
    }
    return true;
  }
  return false;
}

}  // namespace deconfliction
