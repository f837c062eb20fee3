// AuditLog: the append-only, hash-chained audit trail kept by the hub and
// by every node (audit column family; key = seq, uint64 big-endian). Each
// record carries the SHA-256 of the previous record's stored bytes, so an
// auditor can prove that nothing was removed or altered.
//
// Thread safety: Append may be called from any thread (serialized inside).
#ifndef DECONFLICTION_STORAGE_AUDIT_LOG_H_
#define DECONFLICTION_STORAGE_AUDIT_LOG_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "api/deconfliction/storage/v1/records.pb.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace deconfliction {

class AuditLog {
 public:
  // Continues the chain after the last stored record. The database and
  // family must outlive the log.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(
      rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family);

  // Appends `record` (its seq and previous_hash are set here) with a synced
  // write.
  absl::Status Append(storage::v1::AuditRecord record);

  // Visits every record in order, verifying the chain as it goes:
  // DATA_LOSS naming the first record whose link is broken. Returns how
  // many records were visited.
  static absl::StatusOr<uint64_t> Export(
      rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
      const std::function<void(const storage::v1::AuditRecord&)>& visit);

 private:
  AuditLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
           uint64_t next_seq, std::string last_hash)
      : db_(db),
        family_(family),
        next_seq_(next_seq),
        last_hash_(std::move(last_hash)) {}

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const family_;
  absl::Mutex mu_;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_);
  std::string last_hash_ ABSL_GUARDED_BY(mu_);
};

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_AUDIT_LOG_H_
