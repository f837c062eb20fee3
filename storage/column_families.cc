#include "storage/column_families.h"

#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace deconfliction {
namespace {

rocksdb::ColumnFamilyOptions PointLookupOptions() {
  rocksdb::ColumnFamilyOptions options;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.OptimizeForPointLookup(64);
  return options;
}

}  // namespace

std::vector<FamilyDescriptor> NodeFamilies() {
  return {
      {families::kMeta, {}},
      {families::kTokenIndex, PointLookupOptions()},
      {families::kCases, {}},
      {families::kEntries, {}},
      {families::kAlerts, {}},
      {families::kAudit, {}},
      {families::kFederationQueue, {}},
      {families::kAwaitingTokens, {}},
  };
}

std::vector<FamilyDescriptor> HubFamilies() {
  return {
      {families::kMeta, {}},     {families::kAudit, {}},
      {families::kOutbox, {}},   {families::kRechecks, {}},
      {families::kSetAside, {}}, {families::kDelivered, {}},
  };
}

std::vector<FamilyDescriptor> AuditFamilies() {
  return {
      {families::kMeta, {}},
      {families::kAudit, {}},
  };
}

}  // namespace deconfliction
