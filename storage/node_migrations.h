// Schema migrations of a node database (NodeDatabase::Open runs them at
// start), from the version the database records to kNodeSchemaVersion.
//
//   1 → 2  re-tokenization from the HMAC era to blind tokens. It needs the
//          custodians, so it runs by command (storage/token_migration.h);
//          a node refuses a schema 1 database until it is done.
//   2 → 3  CHECKED alerts are aggregated (storage/alert_log.h): every stored
//          CHECKED alert gets checked_count 1, and today's unacknowledged
//          ones are indexed by group, so that today's later checks join
//          them. Schema 3 also records a pending alert recovery after a
//          restore (keys::kAlertRecovery).
//   3 → 4  postings carry their case's header (contact, caveat, sharing,
//          expiry), so that a lookup reads the token index only: every
//          posting is rewritten from its case, and a closed case's
//          postings, if any remain, are dropped.
//
// Each migration is idempotent and writes its new version in the same
// synced write as its last change: after a kill -9 part-way, the next start
// runs it again.
#ifndef DECONFLICTION_STORAGE_NODE_MIGRATIONS_H_
#define DECONFLICTION_STORAGE_NODE_MIGRATIONS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace deconfliction {

class Database;

// The schema of a node database: 4 since postings carry their case's
// header; 3 aggregated CHECKED alerts; 2 recorded the token-key epoch of
// blind tokens; 1 held HMAC tokens.
inline constexpr uint64_t kNodeSchemaVersion = 4;
// The first version that migrates at start.
inline constexpr uint64_t kOldestMigratedAtStart = 2;

// Runs the migrations from `version` (at least kOldestMigratedAtStart) to
// kNodeSchemaVersion, in order, calling `migrated` after each with what it
// did. `now` is the time the start sees (the day of today's groups).
absl::Status MigrateNodeDatabase(
    const Database& database, uint64_t version, absl::Time now,
    const std::function<void(uint64_t to, const std::string& what)>& migrated);

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_NODE_MIGRATIONS_H_
