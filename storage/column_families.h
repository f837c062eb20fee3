// The column families of the node's and the hub's databases: one table per
// database naming each family once, with its options. Stores look their
// families up by these names (Database::Family), never by position, and
// fail at start when a name is missing.
#ifndef DECONFLICTION_STORAGE_COLUMN_FAMILIES_H_
#define DECONFLICTION_STORAGE_COLUMN_FAMILIES_H_

#include <string>
#include <vector>

#include "rocksdb/options.h"

namespace deconfliction {

namespace families {
// RocksDB's own family; holds the meta keys (storage/keys.h).
inline constexpr char kMeta[] = "default";
// The node's.
inline constexpr char kTokenIndex[] = "token_index";
inline constexpr char kCases[] = "cases";
inline constexpr char kEntries[] = "entries";
inline constexpr char kAlerts[] = "alerts";
inline constexpr char kFederationQueue[] = "federation_queue";
inline constexpr char kAwaitingTokens[] = "awaiting_tokens";
// Both.
inline constexpr char kAudit[] = "audit";
// The hub's.
inline constexpr char kOutbox[] = "outbox";
inline constexpr char kRechecks[] = "rechecks";
inline constexpr char kSetAside[] = "set_aside";
inline constexpr char kDelivered[] = "delivered";
}  // namespace families

struct FamilyDescriptor {
  std::string name;
  rocksdb::ColumnFamilyOptions options;
};

// The node's families. The token index is tuned for point lookups: a
// whole-key bloom filter answers most misses without reading a data block.
std::vector<FamilyDescriptor> NodeFamilies();
// The hub's families.
std::vector<FamilyDescriptor> HubFamilies();
// A custodian's: its audit trail only.
std::vector<FamilyDescriptor> AuditFamilies();

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_COLUMN_FAMILIES_H_
