// The node database's column families: names and options, in one table.
// Internal to storage/ (and to benchmarks that open the same database
// read-only to measure raw RocksDB against NodeStore).
#ifndef DECONFLICTION_STORAGE_COLUMN_FAMILIES_H_
#define DECONFLICTION_STORAGE_COLUMN_FAMILIES_H_

#include "rocksdb/options.h"
#include "storage/node_store.h"

namespace deconfliction {

struct ColumnFamilySpec {
  ColumnFamily family;
  const char* name;
};

// Entry i is ColumnFamily i: NodeStore indexes its handles by the enum.
inline constexpr ColumnFamilySpec kColumnFamilies[] = {
    {ColumnFamily::kMeta, "default"},  // RocksDB's own; holds the meta keys
    {ColumnFamily::kTokenIndex, "token_index"},
    {ColumnFamily::kCases, "cases"},
    {ColumnFamily::kEntries, "entries"},
    {ColumnFamily::kAlerts, "alerts"},
    {ColumnFamily::kAudit, "audit"},
    {ColumnFamily::kFederationQueue, "federation_queue"},
};

// Options of each family. The token index is tuned for point lookups: a
// whole-key bloom filter answers most misses without reading a data block.
rocksdb::ColumnFamilyOptions ColumnFamilyOptionsFor(ColumnFamily family);

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_COLUMN_FAMILIES_H_
