// NodeStore: an agency node's database (RocksDB). It holds the agency's own
// cases and entries in plaintext and a token index for lookups; nothing in
// it crosses the federation except what callers take from Lookup().
//
// Column families (one purpose each; key layouts in storage/keys.h):
//   meta         schema version, owning agency, counters
//   token_index  token -> postings; whole-key bloom filter; read by MultiGet
//   cases        case header (contact, caveat, sharing, state, expiry)
//   entries      the identifiers of each case, as registered
//   alerts       match alerts (inbox)
//   audit        append-only, hash-chained audit records
//   federation_queue  registrations the hub could not be asked about yet
//
// Durability: every mutating call is one WriteBatch, written with a synced
// WAL before it returns OK, so an acknowledged write survives kill -9 and
// power loss; a failed call writes nothing.
//
// Thread safety: all methods may be called concurrently. Writers are
// serialized internally (postings are read-modify-write); readers never
// block on writers.
#ifndef DECONFLICTION_STORAGE_NODE_STORE_H_
#define DECONFLICTION_STORAGE_NODE_STORE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/deconfliction/storage/v1/records.pb.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "identifiers/canonical.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace deconfliction {

class AuditLog;
class Database;

enum class ColumnFamily {
  kMeta,
  kTokenIndex,
  kCases,
  kEntries,
  kAlerts,
  kAudit,
  kFederationQueue,
};

// The current time; injected so tests control expiry.
using Clock = std::function<absl::Time()>;

// An identifier ready to store: as registered, canonical, and its token.
struct NewEntry {
  v1::Identifier identifier;
  CanonicalIdentifier canonical;
  std::string token;
};

// What Register() sets on a case. On a new case every field is used; on an
// existing open case, a non-empty contact/caveat and a set sharing/expiry
// replace the stored ones.
struct CaseUpdate {
  std::string case_ref;  // keys::ValidateCaseRef
  v1::Contact contact;
  std::string caveat;
  v1::Sharing sharing = v1::SHARING_UNSPECIFIED;
  absl::Time expires_at = absl::InfiniteFuture();  // must be in the future
  std::string created_by;
};

struct LookupQuery {
  std::string token;
  // Only for time-bound types; unset bounds are open.
  v1::TimeWindow observed;
};

// A live entry matching a token: its case's header and the entry's posting.
struct IndexHit {
  v1::Case owner;  // without entries
  storage::v1::Posting posting;
};

// One of the agency's own entries, as an alert shows it.
struct OwnEntryRecord {
  std::string case_ref;
  storage::v1::EntryRecord entry;
};

struct StoredAlerts {
  uint32_t stored = 0;
  uint32_t duplicates = 0;
};

struct AcknowledgedAlerts {
  uint32_t acknowledged = 0;
  std::vector<std::string> unknown_ids;
};

struct AlertInbox {
  uint64_t last_cursor = 0;
  uint64_t unacknowledged = 0;
};

struct CasePage {
  std::vector<v1::Case> cases;
  std::string next_page_token;  // empty on the last page
};

class NodeStore {
 public:
  // Opens or creates the database in `dir` for agency `agency_id`.
  // FAILED_PRECONDITION when the directory belongs to another agency or has
  // an unknown schema; UNAVAILABLE when RocksDB cannot open it (e.g. another
  // process holds its lock).
  static absl::StatusOr<std::unique_ptr<NodeStore>> Open(
      const std::string& dir, const std::string& agency_id, Clock clock);
  ~NodeStore();
  NodeStore(const NodeStore&) = delete;
  NodeStore& operator=(const NodeStore&) = delete;

  // Adds `entries` to the case (creating it if new). An entry whose token the
  // case already holds is not stored again. Returns how many were added.
  // INVALID_ARGUMENT for a bad case_ref or an expiry not in the future;
  // FAILED_PRECONDITION when the case is closed.
  absl::StatusOr<uint32_t> Register(const CaseUpdate& update,
                                    const std::vector<NewEntry>& entries);

  // For each query, in order, the live entries holding its token: case not
  // closed, not expired, and (when both have one) observation windows
  // overlapping. One MultiGet on the index, one on the cases.
  absl::StatusOr<std::vector<std::vector<IndexHit>>> Lookup(
      const std::vector<LookupQuery>& queries) const;

  // Closes the case: its entries leave the index at once and never match
  // again; the case and entries stay readable. Returns the closing time.
  // NOT_FOUND for an unknown case, FAILED_PRECONDITION when already closed.
  absl::StatusOr<absl::Time> CloseCase(const std::string& case_ref,
                                       const std::string& reason);

  // The case with its state as of now and, if `with_entries`, its entries.
  // NOT_FOUND for an unknown case.
  absl::StatusOr<v1::Case> GetCase(const std::string& case_ref,
                                   bool with_entries) const;

  // Cases in case_ref order, after `page_token` (a case_ref), at most
  // `page_size`. INVALID_ARGUMENT for a malformed page token.
  absl::StatusOr<CasePage> ListCases(const std::string& page_token,
                                     size_t page_size,
                                     bool include_closed) const;

  // Appends to the node's audit trail (storage/audit_log.h).
  absl::Status AppendAudit(storage::v1::AuditRecord record);

  // The agency's live entries holding `token`.
  absl::StatusOr<std::vector<OwnEntryRecord>> EntriesForToken(
      const std::string& token) const;

  // Stores `alerts` in order, each under the next cursor (their `cursor` is
  // set here), skipping any whose alert_id is already held. One synced
  // batch: when this returns OK every alert is durable.
  absl::StatusOr<StoredAlerts> StoreAlerts(std::vector<v1::Alert> alerts);
  // Up to `limit` alerts with a cursor after `after`, in cursor order.
  absl::StatusOr<std::vector<v1::Alert>> AlertsAfter(uint64_t after,
                                                     size_t limit) const;
  // Marks the alerts acknowledged (once; repeats are not counted).
  absl::StatusOr<AcknowledgedAlerts> AcknowledgeAlerts(
      const std::vector<std::string>& alert_ids);
  AlertInbox AlertInboxState() const;

  // Registrations whose federated check could not be made (the hub did not
  // answer), kept until it can: key = seq (uint64 BE).
  absl::Status QueueFederation(const storage::v1::PendingLookup& pending);
  absl::StatusOr<
      std::vector<std::pair<std::string, storage::v1::PendingLookup>>>
  PendingFederation(size_t limit) const;
  absl::Status RemovePendingFederation(const std::string& key);

 private:
  NodeStore(std::unique_ptr<Database> database, std::unique_ptr<AuditLog> audit,
            Clock clock, uint64_t next_entry_seq, uint64_t next_alert_cursor,
            uint64_t unacknowledged_alerts);
  rocksdb::ColumnFamilyHandle* Handle(ColumnFamily family) const;
  // The case as stored, NOT_FOUND if absent.
  absl::StatusOr<v1::Case> ReadCase(const std::string& case_ref) const;
  // Calls `visit` for each entry of the case, in registration order.
  absl::Status ForEachEntry(
      const std::string& case_ref,
      const std::function<void(const storage::v1::EntryRecord&)>& visit) const;
  // Fills the state that depends on the time (EXPIRED).
  void SetCurrentState(v1::Case* c) const;

  std::unique_ptr<Database> database_;
  rocksdb::DB* const db_;
  std::unique_ptr<AuditLog> audit_;
  Clock clock_;
  mutable absl::Mutex write_mu_;
  uint64_t next_entry_seq_ ABSL_GUARDED_BY(write_mu_);
  uint64_t next_alert_cursor_ ABSL_GUARDED_BY(write_mu_);
  uint64_t unacknowledged_alerts_ ABSL_GUARDED_BY(write_mu_);
  uint64_t next_pending_seq_ ABSL_GUARDED_BY(write_mu_) = 0;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_NODE_STORE_H_
