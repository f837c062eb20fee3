// FederationQueue: a node's registrations whose federated lookup the hub has
// not taken yet: each is staged in the registration's own batch (or in the
// batch that gives it its tokens late), and leaves the queue only once the
// hub has answered it. Kept until then (federation_queue
// family; key = seq, uint64 big-endian, so the oldest comes first).
//
// Durability: staged lookups are written with their batch; Remove is one
// synced write.
//
// Thread safety: all methods may be called concurrently.
#ifndef DECONFLICTION_STORAGE_FEDERATION_QUEUE_H_
#define DECONFLICTION_STORAGE_FEDERATION_QUEUE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
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

  // Who sends a staged lookup: FederationRetry (kFree), or its own
  // registration's federated check (kClaimed), until Release or Remove.
  // Claims live in memory only: after a restart every lookup is free.
  enum class Claim { kFree, kClaimed };

  // Adds `pending` to `batch` under the next key, and returns the key: it
  // is queued when, and only if, the batch is written. After a failed
  // write, Release the key.
  std::string Stage(rocksdb::WriteBatch* batch,
                    const storage::v1::PendingLookup& pending, Claim claim);
  // The oldest `limit` queued lookups that are not claimed, with their keys.
  absl::StatusOr<
      std::vector<std::pair<std::string, storage::v1::PendingLookup>>>
  Oldest(size_t limit) const;
  // What waits, claimed or not: how many lookups, and when the oldest was
  // queued (InfiniteFuture when none). Reads the whole queue.
  struct Backlog {
    uint64_t lookups = 0;
    absl::Time oldest = absl::InfiniteFuture();
  };
  absl::StatusOr<Backlog> Waiting() const;

  // Leaves a claimed lookup to FederationRetry.
  void Release(const std::string& key);
  // The hub has taken the lookup: it leaves the queue (and its claim).
  absl::Status Remove(const std::string& key);

 private:
  FederationQueue(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                  uint64_t next_seq)
      : db_(db), family_(family), next_seq_(next_seq) {}

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const family_;
  mutable absl::Mutex mu_;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> claimed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_FEDERATION_QUEUE_H_
