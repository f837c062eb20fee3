#include "storage/token_migration.h"

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/deconfliction/storage/v1/records.pb.h"
#include "identifiers/token.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/case_store.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"
#include "storage/node_database.h"

namespace deconfliction {
namespace {

struct Families {
  rocksdb::ColumnFamilyHandle* meta;
  rocksdb::ColumnFamilyHandle* token_index;
  rocksdb::ColumnFamilyHandle* cases;
  rocksdb::ColumnFamilyHandle* entries;
  rocksdb::ColumnFamilyHandle* queue;
};

// `tokenize`'s answer, checked: one token of kTokenBytes per identifier.
absl::StatusOr<std::vector<std::string>> Tokens(
    const TokenizeBatch& tokenize,
    const std::vector<CanonicalIdentifier>& identifiers) {
  absl::StatusOr<std::vector<std::string>> tokens = tokenize(identifiers);
  if (!tokens.ok()) return tokens.status();
  if (tokens->size() != identifiers.size()) {
    return absl::InternalError("the tokenizer answered the wrong count");
  }
  for (const std::string& token : *tokens) {
    if (token.size() != kTokenBytes) {
      return absl::InternalError("the tokenizer answered a malformed token");
    }
  }
  return tokens;
}

absl::StatusOr<std::string> Get(rocksdb::DB* db,
                                rocksdb::ColumnFamilyHandle* family,
                                const std::string& key, bool* found) {
  std::string value;
  rocksdb::Status status = db->Get(rocksdb::ReadOptions(), family, key, &value);
  *found = status.ok();
  if (status.IsNotFound()) return value;
  if (absl::Status s = FromRocks(status, "read"); !s.ok()) return s;
  return value;
}

// Step 1: each waiting registration's tokens, made again through the old
// index (entry -> canonical form). A token no open entry holds any more is
// dropped; a lookup left without tokens is removed.
absl::Status RetokenizeQueue(rocksdb::DB* db, const Families& families,
                             const std::string& epoch,
                             const TokenizeBatch& tokenize) {
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), families.queue));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    storage::v1::PendingLookup pending;
    if (!pending.ParseFromString(it->value().ToString())) {
      return absl::DataLossError("queued federated lookup is corrupt");
    }
    if (pending.retokenized_to() == epoch) continue;
    std::vector<CanonicalIdentifier> identifiers;
    v1::FederatedLookupRequest rewritten = pending.request();
    rewritten.clear_queries();
    for (const v1::TokenQuery& query : pending.request().queries()) {
      bool found = false;
      absl::StatusOr<std::string> postings =
          Get(db, families.token_index, query.token(), &found);
      if (!postings.ok()) return postings.status();
      storage::v1::PostingList list;
      if (!found || !list.ParseFromString(*postings) ||
          list.postings().empty()) {
        continue;
      }
      const storage::v1::Posting& posting = list.postings(0);
      absl::StatusOr<std::string> entry =
          Get(db, families.entries,
              keys::EntryKey(posting.case_ref(), posting.entry_seq()), &found);
      if (!entry.ok()) return entry.status();
      storage::v1::EntryRecord record;
      if (!found || !record.ParseFromString(*entry)) continue;
      identifiers.push_back({record.identifier().type(), record.canonical()});
      *rewritten.add_queries() = query;
    }
    rocksdb::WriteBatch batch;
    if (identifiers.empty()) {
      batch.Delete(families.queue, it->key());
    } else {
      absl::StatusOr<std::vector<std::string>> tokens =
          Tokens(tokenize, identifiers);
      if (!tokens.ok()) return tokens.status();
      for (int i = 0; i < rewritten.queries_size(); ++i) {
        rewritten.mutable_queries(i)->set_token((*tokens)[i]);
      }
      *pending.mutable_request() = std::move(rewritten);
      pending.set_retokenized_to(epoch);
      batch.Put(families.queue, it->key(), pending.SerializeAsString());
    }
    if (absl::Status s = FromRocks(db->Write(SyncedWrite(), &batch), "write");
        !s.ok()) {
      return s;
    }
  }
  return FromRocks(it->status(), "read federation queue");
}

// Step 3, one batch: entries after `cursor` (exclusive; "" from the first),
// at most `size`. Returns the new cursor, "" when there were none.
absl::StatusOr<std::string> RetokenizeEntries(
    rocksdb::DB* db, const Families& families, const std::string& cursor,
    size_t size, const TokenizeBatch& tokenize, uint64_t* done) {
  std::vector<std::string> entry_keys;
  std::vector<storage::v1::EntryRecord> records;
  std::vector<CanonicalIdentifier> identifiers;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), families.entries));
    if (cursor.empty()) {
      it->SeekToFirst();
    } else {
      it->Seek(cursor);
      if (it->Valid() && it->key() == cursor) it->Next();
    }
    for (; it->Valid() && entry_keys.size() < size; it->Next()) {
      storage::v1::EntryRecord record;
      if (!record.ParseFromString(it->value().ToString())) {
        return absl::DataLossError("entry record is corrupt");
      }
      identifiers.push_back({record.identifier().type(), record.canonical()});
      entry_keys.push_back(it->key().ToString());
      records.push_back(std::move(record));
    }
    if (absl::Status s = FromRocks(it->status(), "read entries"); !s.ok()) {
      return s;
    }
  }
  if (entry_keys.empty()) return std::string();
  absl::StatusOr<std::vector<std::string>> tokens =
      Tokens(tokenize, identifiers);
  if (!tokens.ok()) return tokens.status();

  rocksdb::WriteBatch batch;
  std::map<std::string, v1::Case> cases;
  std::map<std::string, storage::v1::PostingList> postings;
  for (size_t i = 0; i < entry_keys.size(); ++i) {
    const std::optional<keys::EntryKeyParts> key =
        keys::DecodeEntryKey(entry_keys[i]);
    if (!key) return absl::DataLossError("entry key is malformed");
    records[i].set_token((*tokens)[i]);
    batch.Put(families.entries, entry_keys[i], records[i].SerializeAsString());
    auto c = cases.find(key->case_ref);
    if (c == cases.end()) {
      bool found = false;
      absl::StatusOr<std::string> value =
          Get(db, families.cases, key->case_ref, &found);
      if (!value.ok()) return value.status();
      v1::Case read;
      if (!found || !read.ParseFromString(*value)) {
        return absl::DataLossError("an entry's case is missing or corrupt");
      }
      c = cases.emplace(key->case_ref, std::move(read)).first;
    }
    // A closed case's entries leave the index.
    if (c->second.state() == v1::CASE_STATE_CLOSED) continue;
    auto list = postings.find((*tokens)[i]);
    if (list == postings.end()) {
      bool found = false;
      absl::StatusOr<std::string> value =
          Get(db, families.token_index, (*tokens)[i], &found);
      if (!value.ok()) return value.status();
      storage::v1::PostingList read;
      if (found && !read.ParseFromString(*value)) {
        return absl::DataLossError("token index record is corrupt");
      }
      list = postings.emplace((*tokens)[i], std::move(read)).first;
    }
    *list->second.add_postings() =
        PostingOf(c->second, key->entry_seq, records[i]);
  }
  for (const auto& [token, list] : postings) {
    batch.Put(families.token_index, token, list.SerializeAsString());
  }
  batch.Put(families.meta, keys::kRetokenizeCursor, entry_keys.back());
  if (absl::Status s = FromRocks(db->Write(SyncedWrite(), &batch), "write");
      !s.ok()) {
    return s;
  }
  *done += entry_keys.size();
  return entry_keys.back();
}

}  // namespace

absl::Status RetokenizeNodeDatabase(
    const std::string& dir, const std::string& agency_id,
    const std::string& epoch, size_t batch_size, const TokenizeBatch& tokenize,
    const std::function<void(const RetokenizeProgress&)>& progress) {
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::Open(dir, NodeFamilies());
  if (!database.ok()) return database.status();
  absl::StatusOr<NodeDatabaseMeta> meta = ReadNodeDatabaseMeta(**database);
  if (!meta.ok()) return meta.status();
  if (meta->agency_id != agency_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data_dir ", dir, " is not a database of agency \"", agency_id, "\""));
  }
  if (meta->schema_version < 1 || meta->schema_version > kNodeSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("data_dir ", dir, " has an unknown schema version"));
  }
  absl::StatusOr<std::vector<rocksdb::ColumnFamilyHandle*>> handles =
      (*database)->Families({families::kMeta, families::kTokenIndex,
                             families::kCases, families::kEntries,
                             families::kFederationQueue});
  if (!handles.ok()) return handles.status();
  const Families families{(*handles)[0], (*handles)[1], (*handles)[2],
                          (*handles)[3], (*handles)[4]};
  rocksdb::DB* db = (*database)->db();

  std::string cursor;
  if (meta->retokenize_epoch != epoch) {
    // Steps 1 and 2; a restart before step 2's write does step 1 again,
    // skipping the lookups it has done.
    if (absl::Status s = RetokenizeQueue(db, families, epoch, tokenize);
        !s.ok()) {
      return s;
    }
    rocksdb::WriteBatch clear;
    clear.DeleteRange(families.token_index, "",
                      std::string(kTokenBytes + 1, '\xff'));
    clear.Put(families.meta, keys::kRetokenizeEpoch, epoch);
    clear.Put(families.meta, keys::kRetokenizeCursor, "");
    if (absl::Status s = FromRocks(db->Write(SyncedWrite(), &clear), "write");
        !s.ok()) {
      return s;
    }
  } else {
    bool found = false;
    absl::StatusOr<std::string> stored =
        Get(db, families.meta, keys::kRetokenizeCursor, &found);
    if (!stored.ok()) return stored.status();
    cursor = *stored;
  }

  RetokenizeProgress shown;
  uint64_t estimate = 0;
  if (db->GetIntProperty(families.entries, "rocksdb.estimate-num-keys",
                         &estimate)) {
    shown.entries_estimated = estimate;
  }
  for (;;) {
    absl::StatusOr<std::string> next = RetokenizeEntries(
        db, families, cursor, batch_size, tokenize, &shown.entries_done);
    if (!next.ok()) return next.status();
    if (next->empty()) break;
    cursor = *std::move(next);
    progress(shown);
  }

  rocksdb::WriteBatch finish;
  // From the HMAC era to schema 2; the node's start migrates it further.
  finish.Put(families.meta, keys::kSchemaVersion,
             keys::EncodeUint64(std::max<uint64_t>(meta->schema_version, 2)));
  finish.Put(families.meta, keys::kTokenEpoch, epoch);
  finish.Delete(families.meta, keys::kRetokenizeEpoch);
  finish.Delete(families.meta, keys::kRetokenizeCursor);
  return FromRocks(db->Write(SyncedWrite(), &finish), "write");
}

}  // namespace deconfliction
