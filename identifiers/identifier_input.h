// Identifiers as people and files write them, for the CLI and the node's
// tools:
//   on the command line  TYPE:VALUE      e.g. phone:"613 555 0100",
//                                        username:x:@someone
//   in a CSV file        type,value[,observed_start,observed_end]
//                        RFC 4180 quoting ("Picard, Jean-Luc;1962-07-13");
//                        a first row starting with "type" is a header;
//                        blank lines and lines starting with '#' are skipped;
//                        times are RFC 3339 (2026-11-01T10:00:00Z).
#ifndef DECONFLICTION_IDENTIFIERS_IDENTIFIER_INPUT_H_
#define DECONFLICTION_IDENTIFIERS_IDENTIFIER_INPUT_H_

#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/deconfliction/v1/deconfliction.pb.h"

namespace deconfliction {

// Parses TYPE:VALUE. INVALID_ARGUMENT naming the argument otherwise.
absl::StatusOr<v1::Identifier> ParseIdentifierArg(absl::string_view arg);

// Parses "START/END" (RFC 3339, either side may be empty) into a window.
absl::StatusOr<v1::TimeWindow> ParseTimeWindow(absl::string_view text);
// The same from its two sides, each RFC 3339 or empty (open).
absl::StatusOr<v1::TimeWindow> ParseTimeBounds(absl::string_view start,
                                               absl::string_view end);

// Splits one CSV record. INVALID_ARGUMENT for an unterminated quote.
absl::StatusOr<std::vector<std::string>> SplitCsvLine(absl::string_view line);

struct CsvIdentifier {
  int line = 0;  // 1-based line number in the file
  v1::Identifier identifier;
};

// Reads identifier rows from `in`, one at a time: a reader holds no more
// than one line in memory, so files of any size stream through.
class IdentifierCsvReader {
 public:
  explicit IdentifierCsvReader(std::istream* in) : in_(in) {}

  // The next row; false at the end of the input. A row that cannot be
  // parsed sets `*error` (naming the line and the reason) and returns true
  // so that the caller can count it and go on.
  bool Next(CsvIdentifier* row, absl::Status* error);

 private:
  std::istream* in_;
  int line_ = 0;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_IDENTIFIERS_IDENTIFIER_INPUT_H_
