// Re-tokenization of a node database, for a new token-key epoch or from the
// HMAC era (schema 1): every entry's token is made again from its canonical
// form, the token index is rebuilt, and the registrations waiting for the
// federation get the new tokens. `deconflict-node --retokenize` runs it,
// with the custodians; the node refuses to serve a database whose epoch is
// not its bundle's, or whose re-tokenization was interrupted
// (NodeDatabase::Open).
//
// Restartable: the progress is kept in the database's meta keys
// ("retokenize_epoch", "retokenize_cursor"), and every step is one synced
// WriteBatch, so after a kill -9 the same call continues where it stopped:
//   1. each waiting registration's tokens are mapped, through the old index,
//      to their entries' canonical forms and made again (the pending lookup
//      is marked with the new epoch, so it is done once);
//   2. the token index is cleared, and the new epoch recorded as in
//      progress;
//   3. the entries in key order, a batch at a time: the new token in the
//      entry, and its posting in the index when its case is open;
//   4. the new epoch is recorded (and schema 2 for an HMAC-era database;
//      the node's next start migrates it further), the progress keys
//      removed.
#ifndef DECONFLICTION_STORAGE_TOKEN_MIGRATION_H_
#define DECONFLICTION_STORAGE_TOKEN_MIGRATION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "identifiers/canonical.h"

namespace deconfliction {

// Tokens for `identifiers`, in order (each kTokenBytes bytes), or why not.
using TokenizeBatch = std::function<absl::StatusOr<std::vector<std::string>>(
    const std::vector<CanonicalIdentifier>& identifiers)>;

struct RetokenizeProgress {
  uint64_t entries_done = 0;
  uint64_t entries_estimated = 0;  // RocksDB's estimate
};

// Re-tokenizes the node database in `dir` of `agency_id` to `epoch`,
// `batch` entries per call to `tokenize`, calling `progress` after each
// batch. FAILED_PRECONDITION when the database is another agency's or of an
// unknown schema; the first error of `tokenize` (nothing of its batch is
// written).
absl::Status RetokenizeNodeDatabase(
    const std::string& dir, const std::string& agency_id,
    const std::string& epoch, size_t batch, const TokenizeBatch& tokenize,
    const std::function<void(const RetokenizeProgress&)>& progress);

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_TOKEN_MIGRATION_H_
