#include "storage/column_families.h"

#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace deconfliction {

static_assert(static_cast<int>(kColumnFamilies[6].family) == 6,
              "kColumnFamilies must be in ColumnFamily order");

rocksdb::ColumnFamilyOptions ColumnFamilyOptionsFor(ColumnFamily family) {
  rocksdb::ColumnFamilyOptions options;
  if (family == ColumnFamily::kTokenIndex) {
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.whole_key_filtering = true;
    table.cache_index_and_filter_blocks = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    options.OptimizeForPointLookup(64);
  }
  return options;
}

}  // namespace deconfliction
