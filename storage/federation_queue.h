// FederationQueue: a node's registrations whose federated check could not be
// made yet (the hub did not answer, or their tokens were made late), kept
// until it can (federation_queue
// family; key = seq, uint64 big-endian, so the oldest comes first).
//
// Durability: each call is one synced write.
//
// Thread safety: all methods may be called concurrently.
#ifndef DECONFLICTION_STORAGE_FEDERATION_QUEUE_H_
#define DECONFLICTION_STORAGE_FEDERATION_QUEUE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "api/deconfliction/storage/v1/records.pb.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace deconfliction {

class Database;

class FederationQueue {
 public:
  // Continues after the last queued lookup. `database` must outlive the
  // queue. FAILED_PRECONDITION when the family is missing.
  static absl::StatusOr<std::unique_ptr<FederationQueue>> Open(
      const Database& database);

  absl::Status Add(const storage::v1::PendingLookup& pending);
  // Adds `pending` to `batch` under the next key: it is queued when, and
  // only if, the batch is written (a key of an unwritten batch stays unused).
  void Stage(rocksdb::WriteBatch* batch,
             const storage::v1::PendingLookup& pending);
  // The oldest `limit` queued lookups with their keys.
  absl::StatusOr<
      std::vector<std::pair<std::string, storage::v1::PendingLookup>>>
  Oldest(size_t limit) const;
  absl::Status Remove(const std::string& key);

 private:
  FederationQueue(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                  uint64_t next_seq)
      : db_(db), family_(family), next_seq_(next_seq) {}

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const family_;
  absl::Mutex mu_;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_);
};

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_FEDERATION_QUEUE_H_
