#include "storage/case_store.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {
namespace {

storage::v1::EntryRecord EntryRecordOf(const NewEntry& entry, absl::Time now) {
  storage::v1::EntryRecord record;
  *record.mutable_identifier() = entry.identifier;
  record.set_canonical(entry.canonical.form);
  record.set_token(entry.token);
  *record.mutable_registered_at() = ToTimestamp(now);
  return record;
}

// Whether `list` holds an entry of the case observed in `observed` (a
// time-bound identifier seen in another window is a new observation, not a
// repeat).
bool HeldByCase(const storage::v1::PostingList& list,
                const std::string& case_ref, const v1::TimeWindow& observed) {
  const std::string window = observed.SerializeAsString();
  return std::any_of(list.postings().begin(), list.postings().end(),
                     [&](const storage::v1::Posting& p) {
                       return p.case_ref() == case_ref &&
                              p.observed().SerializeAsString() == window;
                     });
}

// A registration's federated lookup, as a registration into case `c`.
storage::v1::PendingLookup RegistrationLookup(const v1::Case& c,
                                              absl::Time now) {
  storage::v1::PendingLookup lookup;
  lookup.mutable_request()->set_purpose(v1::LOOKUP_PURPOSE_REGISTER);
  *lookup.mutable_request()->mutable_requester_contact() = c.contact();
  lookup.mutable_request()->set_requester_sharing(c.sharing());
  *lookup.mutable_queued_at() = ToTimestamp(now);
  return lookup;
}

// Asks the federation about `token`, within the identifier's observation
// window when its type is time-bound.
void AddQuery(storage::v1::PendingLookup* lookup, const std::string& token,
              const v1::Identifier& identifier) {
  v1::TokenQuery* query = lookup->mutable_request()->add_queries();
  query->set_token(token);
  if (IsTimeBound(identifier.type())) {
    *query->mutable_observed() = identifier.observed();
  }
}

// What a hit shows of case `c`, alone in a posting: equal for two headers
// exactly when their postings need no rewrite.
std::string PostedHeader(const v1::Case& c) {
  storage::v1::Posting header;
  CopyCaseHeader(c, &header);
  return header.SerializeAsString();
}

}  // namespace

void CopyCaseHeader(const v1::Case& c, storage::v1::Posting* posting) {
  *posting->mutable_contact() = c.contact();
  posting->set_caveat(c.caveat());
  posting->set_sharing(c.sharing());
  if (c.has_expires_at()) {
    *posting->mutable_expires_at() = c.expires_at();
  } else {
    posting->clear_expires_at();
  }
}

storage::v1::Posting PostingOf(const v1::Case& c, uint64_t entry_seq,
                               const storage::v1::EntryRecord& record) {
  storage::v1::Posting posting;
  posting.set_case_ref(c.case_ref());
  CopyCaseHeader(c, &posting);
  posting.set_entry_seq(entry_seq);
  if (IsTimeBound(record.identifier().type())) {
    *posting.mutable_observed() = record.identifier().observed();
  }
  *posting.mutable_registered_at() = record.registered_at();
  return posting;
}

absl::StatusOr<std::unique_ptr<CaseStore>> CaseStore::Open(
    const Database& database, Clock clock) {
  absl::StatusOr<std::vector<rocksdb::ColumnFamilyHandle*>> handles =
      database.Families({families::kMeta, families::kTokenIndex,
                         families::kCases, families::kEntries,
                         families::kAwaitingTokens});
  if (!handles.ok()) return handles.status();
  absl::StatusOr<uint64_t> next_entry_seq =
      database.ReadCounter((*handles)[0], keys::kNextEntrySeq, 1);
  if (!next_entry_seq.ok()) return next_entry_seq.status();
  absl::StatusOr<uint64_t> next_awaiting_seq = database.NextSeq((*handles)[4]);
  if (!next_awaiting_seq.ok()) return next_awaiting_seq.status();
  std::unique_ptr<CaseStore> store(
      new CaseStore(database.db(), *handles, std::move(clock)));
  absl::MutexLock lock(&store->write_mu_);
  store->next_entry_seq_ = *next_entry_seq;
  store->next_awaiting_seq_ = *next_awaiting_seq;
  return store;
}

CaseStore::CaseStore(rocksdb::DB* db,
                     const std::vector<rocksdb::ColumnFamilyHandle*>& families,
                     Clock clock)
    : db_(db),
      meta_(families[0]),
      token_index_(families[1]),
      cases_(families[2]),
      entries_(families[3]),
      awaiting_tokens_(families[4]),
      clock_(std::move(clock)) {}

absl::StatusOr<v1::Case> CaseStore::ReadCase(
    const std::string& case_ref) const {
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), cases_, case_ref, &value);
  if (status.IsNotFound()) {
    return absl::NotFoundError(
        absl::StrCat("case_ref: no case \"", case_ref, "\""));
  }
  if (absl::Status s = FromRocks(status, "read case"); !s.ok()) return s;
  v1::Case c;
  if (!c.ParseFromString(value)) {
    return absl::DataLossError(absl::StrCat("case ", case_ref, " is corrupt"));
  }
  return c;
}

void CaseStore::SetCurrentState(v1::Case* c) const {
  if (c->state() == v1::CASE_STATE_OPEN && c->has_expires_at() &&
      FromTimestamp(c->expires_at()) <= clock_()) {
    c->set_state(v1::CASE_STATE_EXPIRED);
  }
}

absl::StatusOr<Registration> CaseStore::Register(
    const CaseUpdate& update, const std::vector<NewEntry>& entries,
    FederationQueue* queue) {
  if (absl::Status s = keys::ValidateCaseRef(update.case_ref); !s.ok()) {
    return s;
  }
  const absl::Time now = clock_();
  if (update.expires_at <= now) {
    return absl::InvalidArgumentError("expires_at: not in the future");
  }
  absl::MutexLock lock(&write_mu_);
  absl::StatusOr<v1::Case> existing = ReadCase(update.case_ref);
  v1::Case c;
  const bool existed = existing.ok();
  std::string stored_header;  // what the case's postings show now
  if (existed) {
    c = *std::move(existing);
    stored_header = PostedHeader(c);
    if (c.state() == v1::CASE_STATE_CLOSED) {
      return absl::FailedPreconditionError(
          absl::StrCat("case_ref: case \"", update.case_ref,
                       "\" is closed; register under a new case"));
    }
    if (!update.contact.name().empty()) *c.mutable_contact() = update.contact;
    if (!update.caveat.empty()) c.set_caveat(update.caveat);
    if (update.sharing != v1::SHARING_UNSPECIFIED) {
      c.set_sharing(update.sharing);
    }
    if (update.expires_at != absl::InfiniteFuture()) {
      *c.mutable_expires_at() = ToTimestamp(update.expires_at);
    }
  } else if (absl::IsNotFound(existing.status())) {
    c.set_case_ref(update.case_ref);
    *c.mutable_contact() = update.contact;
    c.set_caveat(update.caveat);
    c.set_sharing(update.sharing == v1::SHARING_UNSPECIFIED
                      ? v1::SHARING_POINTER
                      : update.sharing);
    c.set_state(v1::CASE_STATE_OPEN);
    *c.mutable_created_at() = ToTimestamp(now);
    if (update.expires_at != absl::InfiniteFuture()) {
      *c.mutable_expires_at() = ToTimestamp(update.expires_at);
    }
    c.set_created_by(update.created_by);
  } else {
    return existing.status();
  }

  // Postings of every token touched, read once and updated in memory so that
  // a token repeated within the request is stored once.
  std::map<std::string, storage::v1::PostingList> postings;
  for (const NewEntry& entry : entries) {
    if (entry.token.empty()) continue;
    if (absl::Status s = LoadPostings(entry.token, &postings); !s.ok()) {
      return s;
    }
  }

  // A changed header reaches every posting of the case.
  std::set<std::string> written;
  if (existed && stored_header != PostedHeader(c)) {
    absl::StatusOr<std::set<std::string>> tokens = CaseTokens(c.case_ref());
    if (!tokens.ok()) return tokens.status();
    for (const std::string& token : *tokens) {
      if (absl::Status s = LoadPostings(token, &postings); !s.ok()) return s;
      for (storage::v1::Posting& posting :
           *postings[token].mutable_postings()) {
        if (posting.case_ref() != c.case_ref()) continue;
        CopyCaseHeader(c, &posting);
        written.insert(token);
      }
    }
  }

  rocksdb::WriteBatch batch;
  uint64_t seq = next_entry_seq_;
  Registration registration;
  registration.contact = c.contact();
  registration.sharing = c.sharing();
  storage::v1::AwaitingTokens awaiting;
  std::set<std::string> untokenized;
  storage::v1::PendingLookup lookup = RegistrationLookup(c, now);
  for (const NewEntry& entry : entries) {
    if (entry.token.empty()) {
      // Without its token the repeat is told by the canonical form, within
      // the request; AttachTokens indexes a later repeat once.
      if (!untokenized
               .insert(absl::StrCat(
                   entry.canonical.type, ":", entry.canonical.form, ":",
                   entry.identifier.observed().SerializeAsString()))
               .second) {
        continue;
      }
      awaiting.add_entry_seqs(seq);
    } else {
      storage::v1::PostingList& list = postings[entry.token];
      if (HeldByCase(list, update.case_ref, entry.identifier.observed())) {
        continue;
      }
      *list.add_postings() = PostingOf(c, seq, EntryRecordOf(entry, now));
      written.insert(entry.token);
      AddQuery(&lookup, entry.token, entry.identifier);
    }
    batch.Put(entries_, keys::EntryKey(update.case_ref, seq),
              EntryRecordOf(entry, now).SerializeAsString());
    ++seq;
    ++registration.added;
  }
  for (const std::string& token : written) {
    batch.Put(token_index_, token, postings[token].SerializeAsString());
  }
  if (!awaiting.entry_seqs().empty()) {
    awaiting.set_case_ref(update.case_ref);
    *awaiting.mutable_queued_at() = ToTimestamp(now);
    batch.Put(awaiting_tokens_, keys::EncodeUint64(next_awaiting_seq_),
              awaiting.SerializeAsString());
  }
  if (queue != nullptr && !lookup.request().queries().empty()) {
    registration.federation_key =
        queue->Stage(&batch, lookup, FederationQueue::Claim::kClaimed);
  }
  c.set_entry_count(c.entry_count() + registration.added);
  batch.Put(cases_, update.case_ref, c.SerializeAsString());
  batch.Put(meta_, keys::kNextEntrySeq, keys::EncodeUint64(seq));
  if (absl::Status s = FromRocks(db_->Write(SyncedWrite(), &batch), "write");
      !s.ok()) {
    if (!registration.federation_key.empty()) {
      queue->Release(registration.federation_key);
    }
    return s;
  }
  next_entry_seq_ = seq;
  if (!awaiting.entry_seqs().empty()) ++next_awaiting_seq_;
  registration.awaiting_tokens =
      static_cast<uint32_t>(awaiting.entry_seqs_size());
  return registration;
}

absl::StatusOr<std::vector<AwaitingRegistration>>
CaseStore::OldestAwaitingTokens(size_t limit) const {
  std::vector<AwaitingRegistration> oldest;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), awaiting_tokens_));
  for (it->SeekToFirst(); it->Valid() && oldest.size() < limit; it->Next()) {
    storage::v1::AwaitingTokens record;
    if (!record.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError("awaiting-tokens record is corrupt");
    }
    AwaitingRegistration awaiting;
    awaiting.key = it->key().ToString();
    awaiting.case_ref = record.case_ref();
    for (uint64_t entry_seq : record.entry_seqs()) {
      absl::StatusOr<storage::v1::EntryRecord> entry =
          ReadEntry(record.case_ref(), entry_seq);
      if (!entry.ok()) return entry.status();
      awaiting.entry_seqs.push_back(entry_seq);
      awaiting.identifiers.push_back(
          {entry->identifier().type(), entry->canonical()});
    }
    oldest.push_back(std::move(awaiting));
  }
  if (absl::Status s = FromRocks(it->status(), "read awaiting tokens");
      !s.ok()) {
    return s;
  }
  return oldest;
}

absl::Status CaseStore::AttachTokens(const AwaitingRegistration& awaiting,
                                     const std::vector<std::string>& tokens,
                                     FederationQueue* queue) {
  if (tokens.size() != awaiting.entry_seqs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokens: ", tokens.size(), " for ",
                     awaiting.entry_seqs.size(), " entries"));
  }
  absl::MutexLock lock(&write_mu_);
  std::string unused;
  rocksdb::Status pending =
      db_->Get(rocksdb::ReadOptions(), awaiting_tokens_, awaiting.key, &unused);
  if (pending.IsNotFound()) return absl::OkStatus();  // attached before
  if (absl::Status s = FromRocks(pending, "read awaiting tokens"); !s.ok()) {
    return s;
  }
  absl::StatusOr<v1::Case> c = ReadCase(awaiting.case_ref);
  if (!c.ok()) return c.status();
  SetCurrentState(&*c);
  // A closed or expired case's entries stay out of the index and the
  // federation, as they would have had they been tokenized at once.
  const bool live = c->state() == v1::CASE_STATE_OPEN;

  rocksdb::WriteBatch batch;
  std::map<std::string, storage::v1::PostingList> postings;
  std::set<std::string> written;
  storage::v1::PendingLookup lookup = RegistrationLookup(*c, clock_());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const uint64_t entry_seq = awaiting.entry_seqs[i];
    absl::StatusOr<storage::v1::EntryRecord> entry =
        ReadEntry(awaiting.case_ref, entry_seq);
    if (!entry.ok()) return entry.status();
    entry->set_token(tokens[i]);
    batch.Put(entries_, keys::EntryKey(awaiting.case_ref, entry_seq),
              entry->SerializeAsString());
    if (!live) continue;
    if (absl::Status s = LoadPostings(tokens[i], &postings); !s.ok()) return s;
    storage::v1::PostingList& list = postings[tokens[i]];
    // Indexed already by a re-tokenization: only its federation is missing.
    const bool indexed =
        std::any_of(list.postings().begin(), list.postings().end(),
                    [&](const storage::v1::Posting& p) {
                      return p.case_ref() == awaiting.case_ref &&
                             p.entry_seq() == entry_seq;
                    });
    if (!indexed) {
      // The case holds it already (registered twice while awaiting, or
      // also with a token): matched and federated once.
      if (HeldByCase(list, awaiting.case_ref, entry->identifier().observed())) {
        continue;
      }
      *list.add_postings() = PostingOf(*c, entry_seq, *entry);
      written.insert(tokens[i]);
    }
    AddQuery(&lookup, tokens[i], entry->identifier());
  }
  for (const std::string& token : written) {
    batch.Put(token_index_, token, postings[token].SerializeAsString());
  }
  batch.Delete(awaiting_tokens_, awaiting.key);
  if (queue != nullptr && !lookup.request().queries().empty()) {
    queue->Stage(&batch, lookup, FederationQueue::Claim::kFree);
  }
  return FromRocks(db_->Write(SyncedWrite(), &batch), "write");
}

absl::Status CaseStore::LoadPostings(
    const std::string& token,
    std::map<std::string, storage::v1::PostingList>* postings) const {
  if (postings->count(token)) return absl::OkStatus();
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), token_index_, token, &value);
  storage::v1::PostingList list;
  if (status.ok()) {
    if (!list.ParseFromString(value)) {
      return absl::DataLossError("token index record is corrupt");
    }
  } else if (!status.IsNotFound()) {
    return FromRocks(status, "read token index");
  }
  postings->emplace(token, std::move(list));
  return absl::OkStatus();
}

absl::StatusOr<storage::v1::EntryRecord> CaseStore::ReadEntry(
    const std::string& case_ref, uint64_t entry_seq) const {
  std::string value;
  rocksdb::Status read = db_->Get(rocksdb::ReadOptions(), entries_,
                                  keys::EntryKey(case_ref, entry_seq), &value);
  if (read.IsNotFound()) {
    return absl::DataLossError(absl::StrCat("entry ", entry_seq, " of case ",
                                            case_ref, " is missing"));
  }
  if (absl::Status s = FromRocks(read, "read entry"); !s.ok()) return s;
  storage::v1::EntryRecord record;
  if (!record.ParseFromString(value)) {
    return absl::DataLossError("entry record is corrupt");
  }
  return record;
}

absl::StatusOr<std::vector<std::vector<storage::v1::Posting>>>
CaseStore::Lookup(const std::vector<LookupQuery>& queries) const {
  std::vector<std::vector<storage::v1::Posting>> results(queries.size());
  if (queries.empty()) return results;
  std::vector<rocksdb::Slice> index_keys;
  index_keys.reserve(queries.size());
  for (const LookupQuery& query : queries) index_keys.emplace_back(query.token);
  std::vector<rocksdb::PinnableSlice> values(queries.size());
  std::vector<rocksdb::Status> statuses(queries.size());
  db_->MultiGet(rocksdb::ReadOptions(), token_index_, index_keys.size(),
                index_keys.data(), values.data(), statuses.data());

  const absl::Time now = clock_();
  storage::v1::PostingList list;
  for (size_t i = 0; i < queries.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (absl::Status s = FromRocks(statuses[i], "read token index"); !s.ok()) {
      return s;
    }
    if (!list.ParseFromArray(values[i].data(),
                             static_cast<int>(values[i].size()))) {
      return absl::DataLossError("token index record is corrupt");
    }
    for (storage::v1::Posting& posting : *list.mutable_postings()) {
      if (posting.has_expires_at() &&
          FromTimestamp(posting.expires_at()) <= now) {
        continue;
      }
      if (posting.has_observed() &&
          !WindowsOverlap(posting.observed(), queries[i].observed)) {
        continue;
      }
      results[i].push_back(std::move(posting));
    }
  }
  return results;
}

absl::StatusOr<absl::Time> CaseStore::CloseCase(const std::string& case_ref,
                                                const std::string& reason) {
  if (absl::Status s = keys::ValidateCaseRef(case_ref); !s.ok()) return s;
  absl::MutexLock lock(&write_mu_);
  absl::StatusOr<v1::Case> c = ReadCase(case_ref);
  if (!c.ok()) return c.status();
  if (c->state() == v1::CASE_STATE_CLOSED) {
    return absl::FailedPreconditionError(
        absl::StrCat("case_ref: case \"", case_ref, "\" is already closed"));
  }
  rocksdb::WriteBatch batch;
  absl::StatusOr<std::set<std::string>> tokens = CaseTokens(case_ref);
  if (!tokens.ok()) return tokens.status();
  for (const std::string& token : *tokens) {
    std::string value;
    rocksdb::Status status =
        db_->Get(rocksdb::ReadOptions(), token_index_, token, &value);
    if (status.IsNotFound()) continue;
    if (absl::Status s = FromRocks(status, "read token index"); !s.ok()) {
      return s;
    }
    storage::v1::PostingList list, kept;
    if (!list.ParseFromString(value)) {
      return absl::DataLossError("token index record is corrupt");
    }
    for (const auto& posting : list.postings()) {
      if (posting.case_ref() != case_ref) *kept.add_postings() = posting;
    }
    if (kept.postings().empty()) {
      batch.Delete(token_index_, token);
    } else {
      batch.Put(token_index_, token, kept.SerializeAsString());
    }
  }
  const absl::Time now = clock_();
  c->set_state(v1::CASE_STATE_CLOSED);
  *c->mutable_closed_at() = ToTimestamp(now);
  c->set_close_reason(reason);
  batch.Put(cases_, case_ref, c->SerializeAsString());
  if (absl::Status s = FromRocks(db_->Write(SyncedWrite(), &batch), "write");
      !s.ok()) {
    return s;
  }
  return now;
}

absl::StatusOr<std::set<std::string>> CaseStore::CaseTokens(
    const std::string& case_ref) const {
  std::set<std::string> tokens;
  absl::Status read =
      ForEachEntry(case_ref, [&](const storage::v1::EntryRecord& record) {
        // An entry still awaiting its token is in no posting.
        if (!record.token().empty()) tokens.insert(record.token());
      });
  if (!read.ok()) return read;
  return tokens;
}

absl::Status CaseStore::ForEachEntry(
    const std::string& case_ref,
    const std::function<void(const storage::v1::EntryRecord&)>& visit) const {
  const std::string prefix = keys::EntryPrefix(case_ref);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), entries_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    storage::v1::EntryRecord record;
    if (!record.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError("entry record is corrupt");
    }
    visit(record);
  }
  return FromRocks(it->status(), "read entries");
}

absl::StatusOr<v1::Case> CaseStore::GetCase(const std::string& case_ref,
                                            bool with_entries) const {
  if (absl::Status s = keys::ValidateCaseRef(case_ref); !s.ok()) return s;
  absl::StatusOr<v1::Case> c = ReadCase(case_ref);
  if (!c.ok()) return c.status();
  SetCurrentState(&*c);
  if (!with_entries) return c;
  absl::Status read =
      ForEachEntry(case_ref, [&](const storage::v1::EntryRecord& record) {
        v1::Entry* entry = c->add_entries();
        *entry->mutable_identifier() = record.identifier();
        entry->set_canonical(record.canonical());
        *entry->mutable_registered_at() = record.registered_at();
      });
  if (!read.ok()) return read;
  return c;
}

absl::StatusOr<CasePage> CaseStore::ListCases(const std::string& page_token,
                                              size_t page_size,
                                              bool include_closed) const {
  if (!page_token.empty() && !keys::ValidateCaseRef(page_token).ok()) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  CasePage page;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cases_));
  it->Seek(page_token);
  if (it->Valid() && !page_token.empty() && it->key() == page_token) {
    it->Next();
  }
  for (; it->Valid(); it->Next()) {
    v1::Case c;
    if (!c.ParseFromArray(it->value().data(),
                          static_cast<int>(it->value().size()))) {
      return absl::DataLossError("case record is corrupt");
    }
    SetCurrentState(&c);
    if (!include_closed && c.state() == v1::CASE_STATE_CLOSED) continue;
    if (page.cases.size() == page_size) {
      page.next_page_token = page.cases.back().case_ref();
      break;
    }
    page.cases.push_back(std::move(c));
  }
  if (absl::Status s = FromRocks(it->status(), "read cases"); !s.ok()) {
    return s;
  }
  return page;
}

absl::StatusOr<std::vector<OwnEntryRecord>> CaseStore::EntriesForToken(
    const std::string& token) const {
  absl::StatusOr<std::vector<std::vector<storage::v1::Posting>>> hits =
      Lookup({LookupQuery{token, {}}});
  if (!hits.ok()) return hits.status();
  std::vector<OwnEntryRecord> entries;
  for (const storage::v1::Posting& hit : (*hits)[0]) {
    absl::StatusOr<storage::v1::EntryRecord> entry =
        ReadEntry(hit.case_ref(), hit.entry_seq());
    if (!entry.ok()) return entry.status();
    OwnEntryRecord own;
    own.case_ref = hit.case_ref();
    own.entry = *std::move(entry);
    entries.push_back(std::move(own));
  }
  return entries;
}

}  // namespace deconfliction
