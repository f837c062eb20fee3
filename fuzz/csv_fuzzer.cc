// CSV import: the reader used by `deconflict import` and `check --file`
// and by the node's --tokenize_csv, over any bytes. Each row is either read
// or refused with a reason; the reader always reaches the end.
#include <sstream>
#include <string>

#include "fuzz/fuzz_target.h"
#include "identifiers/canonical.h"
#include "identifiers/identifier_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  deconfliction::IdentifierCsvReader reader(&in);
  deconfliction::CsvIdentifier row;
  absl::Status error;
  while (reader.Next(&row, &error)) {
    if (!error.ok()) continue;
    deconfliction::Canonicalize(row.identifier, {"CA"}).IgnoreError();
  }
  return 0;
}
