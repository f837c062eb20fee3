// Node databases as earlier releases left them, made by the tests
// themselves from a database of the current schema by undoing each
// migration (storage/node_migrations.h), for the tests of migrations.
#ifndef DECONFLICTION_TESTS_SCHEMA_FIXTURES_H_
#define DECONFLICTION_TESTS_SCHEMA_FIXTURES_H_

#include <memory>
#include <string>

#include "api/deconfliction/storage/v1/records.pb.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {

// Rewrites the closed node database in `dir` as the release of schema
// `version` left it; false if it cannot.
//   3: postings hold no case header (contact, caveat, sharing, expiry).
//   2: as 3, and CHECKED alerts have no checked_count and there are no
//      group keys.
//   1: as 2, with HMAC tokens: no key epoch.
inline bool RewriteAsSchema(const std::string& dir, uint64_t version) {
  auto database = Database::Open(dir, NodeFamilies());
  if (!database.ok()) return false;
  auto meta = (*database)->Family(families::kMeta);
  auto alerts = (*database)->Family(families::kAlerts);
  auto token_index = (*database)->Family(families::kTokenIndex);
  if (!meta.ok() || !alerts.ok() || !token_index.ok()) return false;
  rocksdb::DB* db = (*database)->db();
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> index(
      db->NewIterator(rocksdb::ReadOptions(), *token_index));
  for (index->SeekToFirst(); index->Valid(); index->Next()) {
    storage::v1::PostingList list;
    if (!list.ParseFromArray(index->value().data(),
                             static_cast<int>(index->value().size()))) {
      return false;
    }
    for (storage::v1::Posting& posting : *list.mutable_postings()) {
      posting.clear_contact();
      posting.clear_caveat();
      posting.clear_sharing();
      posting.clear_expires_at();
    }
    batch.Put(*token_index, index->key(), list.SerializeAsString());
  }
  if (!index->status().ok()) return false;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), *alerts));
  for (it->SeekToFirst(); version < 3 && it->Valid(); it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (key.substr(0, 1) == keys::kAlertGroupPrefix) {
      batch.Delete(*alerts, it->key());
      continue;
    }
    if (!keys::DecodeAlertKey(key)) continue;
    v1::Alert alert;
    if (!alert.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size()))) {
      return false;
    }
    alert.clear_checked_count();
    batch.Put(*alerts, it->key(), alert.SerializeAsString());
  }
  if (!it->status().ok()) return false;
  batch.Put(*meta, keys::kSchemaVersion, keys::EncodeUint64(version));
  if (version == 1) batch.Delete(*meta, keys::kTokenEpoch);
  return db->Write(rocksdb::WriteOptions(), &batch).ok();
}

}  // namespace deconfliction

#endif  // DECONFLICTION_TESTS_SCHEMA_FIXTURES_H_
