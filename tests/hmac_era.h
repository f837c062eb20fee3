// A node database as the first release left it: schema 1 (HMAC tokens), no
// key epoch. For the tests of re-tokenization.
#ifndef DECONFLICTION_TESTS_HMAC_ERA_H_
#define DECONFLICTION_TESTS_HMAC_ERA_H_

#include <string>

#include "rocksdb/db.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {

// Rewrites the closed node database in `dir`; false if it cannot.
inline bool MarkAsHmacEra(const std::string& dir) {
  auto database = Database::Open(dir, NodeFamilies());
  if (!database.ok()) return false;
  auto meta = (*database)->Family(families::kMeta);
  if (!meta.ok()) return false;
  rocksdb::DB* db = (*database)->db();
  return db->Put(rocksdb::WriteOptions(), *meta, keys::kSchemaVersion,
                 keys::EncodeUint64(1))
             .ok() &&
         db->Delete(rocksdb::WriteOptions(), *meta, keys::kTokenEpoch).ok();
}

}  // namespace deconfliction

#endif  // DECONFLICTION_TESTS_HMAC_ERA_H_
