// Opening a RocksDB database with its column families, and the one place
// where rocksdb::Status becomes absl::Status. Internal to storage/.
#ifndef DECONFLICTION_STORAGE_DATABASE_H_
#define DECONFLICTION_STORAGE_DATABASE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rocksdb/db.h"
#include "storage/column_families.h"

namespace deconfliction {

// A database and its column-family handles, found by name. Handles are
// destroyed before the database.
class Database {
 public:
  // Opens (creating if missing) `dir` with exactly `families`; the first
  // must be "default". UNAVAILABLE when RocksDB cannot open it (e.g. another
  // process holds its lock). Warns in the log when `dir` is open to other
  // users (the servers create it, and every file in it, private: umask 077).
  static absl::StatusOr<std::unique_ptr<Database>> Open(
      const std::string& dir, const std::vector<FamilyDescriptor>& families);
  // Opens an existing database read-only with whatever families it has,
  // while its owner may be running. NOT_FOUND when `dir` holds no database.
  static absl::StatusOr<std::unique_ptr<Database>> OpenReadOnly(
      const std::string& dir);
  ~Database();

  rocksdb::DB* db() const { return db_.get(); }
  // An integer RocksDB property ("rocksdb.total-sst-files-size", ...)
  // summed over the column families; 0 when RocksDB does not know it.
  uint64_t IntProperty(const std::string& property) const;
  // Whether the database still takes writes: writes the time under
  // keys::kHealthProbe (not synced) and returns the outcome (UNAVAILABLE
  // naming the reason when RocksDB refuses, e.g. a full disk or a
  // background error that stopped writes).
  absl::Status Probe() const;
  // The handle named `name`; FAILED_PRECONDITION when the database has no
  // such family (a store opened over the wrong database).
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> Family(
      absl::string_view name) const;
  // Family() for each name, in order; the first failure.
  absl::StatusOr<std::vector<rocksdb::ColumnFamilyHandle*>> Families(
      const std::vector<absl::string_view>& names) const;

  // The counter stored big-endian under `key` in `family`, or `missing`
  // when it was never written. DATA_LOSS for a malformed value.
  absl::StatusOr<uint64_t> ReadCounter(rocksdb::ColumnFamilyHandle* family,
                                       absl::string_view key,
                                       uint64_t missing) const;
  // One past the largest key of `family`, whose keys are uint64 big-endian
  // sequence numbers; 1 when it is empty. DATA_LOSS for a malformed key.
  absl::StatusOr<uint64_t> NextSeq(rocksdb::ColumnFamilyHandle* family) const;

 private:
  Database(std::unique_ptr<rocksdb::DB> db,
           std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : db_(std::move(db)), handles_(std::move(handles)) {}

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// Maps a RocksDB status to absl codes: NotFound → NOT_FOUND, I/O and
// busy → UNAVAILABLE, corruption → DATA_LOSS, the rest → INTERNAL.
absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what);

// Write options for acknowledged writes: the WAL is synced first.
rocksdb::WriteOptions SyncedWrite();

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_DATABASE_H_
