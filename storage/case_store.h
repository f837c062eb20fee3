// CaseStore: an agency's own cases and entries, in plaintext, and the token
// index that answers lookups. Nothing in it crosses the federation except
// what callers take from Lookup().
//
// Families (storage/column_families.h; key layouts in storage/keys.h):
// token_index (token -> postings, each with its case's header: a lookup
// reads nothing else), cases (case headers),
// entries (the identifiers of each case as registered), awaiting_tokens
// (registrations stored before their tokens could be made), and the entry
// counter in meta.
//
// An entry may be stored without its token, when fewer of the token key's
// custodians answered than its threshold: it is kept, shown in its case,
// and matches nothing until AttachTokens gives it its token, indexes it and
// queues its federated lookup, all in one batch.
//
// Durability: every mutating call is one WriteBatch, written with a synced
// WAL before it returns OK, so an acknowledged write survives kill -9 and
// power loss; a failed call writes nothing.
//
// Thread safety: all methods may be called concurrently. Writers are
// serialized internally (postings are read-modify-write); readers never
// block on writers.
#ifndef DECONFLICTION_STORAGE_CASE_STORE_H_
#define DECONFLICTION_STORAGE_CASE_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/deconfliction/storage/v1/records.pb.h"
#include "api/deconfliction/v1/deconfliction.pb.h"
#include "base/clock.h"
#include "identifiers/canonical.h"
#include "storage/federation_queue.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace deconfliction {

class Database;

// An identifier ready to store: as registered, canonical, and its token
// (empty when the custodians could not make it yet).
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

// One of the agency's own entries, as an alert shows it.
struct OwnEntryRecord {
  std::string case_ref;
  storage::v1::EntryRecord entry;
};

// The token-index posting of `record`, stored in case `c` as entry
// `entry_seq`: the observation window only for time-bound types, and the
// case's header (CopyCaseHeader).
storage::v1::Posting PostingOf(const v1::Case& c, uint64_t entry_seq,
                               const storage::v1::EntryRecord& record);

// Copies what a hit shows of case `c` (contact, caveat, sharing, expiry)
// into `posting`, replacing what it held.
void CopyCaseHeader(const v1::Case& c, storage::v1::Posting* posting);

// What Register() stored.
struct Registration {
  uint32_t added = 0;  // entries new to the case
  // Of those, the entries stored without a token (NewEntry.token empty).
  uint32_t awaiting_tokens = 0;
  // The FederationQueue key of the new entries' federated lookup, claimed
  // by the caller; empty when none was queued.
  std::string federation_key;
  // The case's contact and sharing as stored (a registration into an
  // existing case may leave them out): what its federated lookup says.
  v1::Contact contact;
  v1::Sharing sharing = v1::SHARING_UNSPECIFIED;
};

// A registration's entries stored without tokens, as OldestAwaitingTokens
// reads them.
struct AwaitingRegistration {
  std::string key;  // in the awaiting_tokens family
  std::string case_ref;
  std::vector<uint64_t> entry_seqs;
  std::vector<CanonicalIdentifier> identifiers;  // one per entry_seq
};

struct CasePage {
  std::vector<v1::Case> cases;
  std::string next_page_token;  // empty on the last page
};

class CaseStore {
 public:
  // Continues after the entries `database` holds. `database` must outlive
  // the store. FAILED_PRECONDITION when a family is missing, DATA_LOSS for a
  // malformed counter.
  static absl::StatusOr<std::unique_ptr<CaseStore>> Open(
      const Database& database, Clock clock);

  // Adds `entries` to the case (creating it if new). An entry whose token the
  // case already holds is not stored again; an entry without a token is
  // stored once per request (by canonical form and observation window) and
  // recorded as awaiting its token. With a `queue` (a node with a hub), the
  // federated lookup of the new entries that have tokens is staged in it,
  // in the same batch, claimed by the caller (Registration.federation_key):
  // a registration is never stored without it. INVALID_ARGUMENT for a bad
  // case_ref or an expiry not in the future; FAILED_PRECONDITION when the
  // case is closed. When the update changes the case's header (contact,
  // caveat, sharing, expiry), every posting of the case is rewritten in the
  // same batch: the write grows with the case's size.
  absl::StatusOr<Registration> Register(const CaseUpdate& update,
                                        const std::vector<NewEntry>& entries,
                                        FederationQueue* queue = nullptr);

  // The oldest `limit` registrations awaiting tokens, with the canonical
  // forms to make them from.
  absl::StatusOr<std::vector<AwaitingRegistration>> OldestAwaitingTokens(
      size_t limit) const;
  // Gives `awaiting`'s entries their `tokens` (one per entry, in order) and,
  // in the same batch: indexes them, unless the case is closed or expired
  // or already holds the identifier in the same window; stages in `queue`
  // (may be null: no federation) the federated lookup of the newly indexed
  // ones, as a registration by the case's contact; and removes the awaiting
  // record. OK and nothing written when it was attached before.
  // INVALID_ARGUMENT for a count mismatch.
  absl::Status AttachTokens(const AwaitingRegistration& awaiting,
                            const std::vector<std::string>& tokens,
                            FederationQueue* queue);

  // For each query, in order, the postings of the live entries holding its
  // token: case not closed (a closed case has no postings), not expired,
  // and (when both have one) observation windows overlapping. One MultiGet
  // on the index; the postings carry their case's header.
  absl::StatusOr<std::vector<std::vector<storage::v1::Posting>>> Lookup(
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

  // The agency's live entries holding `token`.
  absl::StatusOr<std::vector<OwnEntryRecord>> EntriesForToken(
      const std::string& token) const;

 private:
  // `families`: meta, token_index, cases, entries, awaiting_tokens.
  CaseStore(rocksdb::DB* db,
            const std::vector<rocksdb::ColumnFamilyHandle*>& families,
            Clock clock);
  // The case as stored, NOT_FOUND if absent.
  absl::StatusOr<v1::Case> ReadCase(const std::string& case_ref) const;
  // The entry as stored; DATA_LOSS if absent or corrupt.
  absl::StatusOr<storage::v1::EntryRecord> ReadEntry(
      const std::string& case_ref, uint64_t entry_seq) const;
  // Reads `token`'s postings into `postings` unless already there.
  absl::Status LoadPostings(
      const std::string& token,
      std::map<std::string, storage::v1::PostingList>* postings) const;
  // The tokens of the case's entries (those awaiting theirs have none).
  absl::StatusOr<std::set<std::string>> CaseTokens(
      const std::string& case_ref) const;
  // Calls `visit` for each entry of the case, in registration order.
  absl::Status ForEachEntry(
      const std::string& case_ref,
      const std::function<void(const storage::v1::EntryRecord&)>& visit) const;
  // Fills the state that depends on the time (EXPIRED).
  void SetCurrentState(v1::Case* c) const;

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const meta_;
  rocksdb::ColumnFamilyHandle* const token_index_;
  rocksdb::ColumnFamilyHandle* const cases_;
  rocksdb::ColumnFamilyHandle* const entries_;
  rocksdb::ColumnFamilyHandle* const awaiting_tokens_;
  const Clock clock_;
  absl::Mutex write_mu_;
  uint64_t next_entry_seq_ ABSL_GUARDED_BY(write_mu_) = 1;
  uint64_t next_awaiting_seq_ ABSL_GUARDED_BY(write_mu_) = 1;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_CASE_STORE_H_
