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

storage::v1::Posting PostingOf(const std::string& case_ref, uint64_t entry_seq,
                               const storage::v1::EntryRecord& record) {
  storage::v1::Posting posting;
  posting.set_case_ref(case_ref);
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
                         families::kCases, families::kEntries});
  if (!handles.ok()) return handles.status();
  absl::StatusOr<uint64_t> next_entry_seq =
      database.ReadCounter((*handles)[0], keys::kNextEntrySeq, 1);
  if (!next_entry_seq.ok()) return next_entry_seq.status();
  return std::unique_ptr<CaseStore>(
      new CaseStore(database.db(), (*handles)[0], (*handles)[1], (*handles)[2],
                    (*handles)[3], std::move(clock), *next_entry_seq));
}

CaseStore::CaseStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
                     rocksdb::ColumnFamilyHandle* token_index,
                     rocksdb::ColumnFamilyHandle* cases,
                     rocksdb::ColumnFamilyHandle* entries, Clock clock,
                     uint64_t next_entry_seq)
    : db_(db),
      meta_(meta),
      token_index_(token_index),
      cases_(cases),
      entries_(entries),
      clock_(std::move(clock)),
      next_entry_seq_(next_entry_seq) {}

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

absl::StatusOr<uint32_t> CaseStore::Register(
    const CaseUpdate& update, const std::vector<NewEntry>& entries) {
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
  if (existing.ok()) {
    c = *std::move(existing);
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
    if (postings.count(entry.token)) continue;
    std::string value;
    rocksdb::Status status =
        db_->Get(rocksdb::ReadOptions(), token_index_, entry.token, &value);
    storage::v1::PostingList list;
    if (status.ok()) {
      if (!list.ParseFromString(value)) {
        return absl::DataLossError("token index record is corrupt");
      }
    } else if (!status.IsNotFound()) {
      return FromRocks(status, "read token index");
    }
    postings.emplace(entry.token, std::move(list));
  }

  rocksdb::WriteBatch batch;
  uint64_t seq = next_entry_seq_;
  uint32_t added = 0;
  std::set<std::string> written;
  for (const NewEntry& entry : entries) {
    storage::v1::PostingList& list = postings[entry.token];
    bool held = std::any_of(
        list.postings().begin(), list.postings().end(),
        [&](const storage::v1::Posting& p) {
          return p.case_ref() == update.case_ref &&
                 // A time-bound identifier seen in another window is a new
                 // observation, not a repeat.
                 p.observed().SerializeAsString() ==
                     entry.identifier.observed().SerializeAsString();
        });
    if (held) continue;
    storage::v1::EntryRecord record;
    *record.mutable_identifier() = entry.identifier;
    record.set_canonical(entry.canonical.form);
    record.set_token(entry.token);
    *record.mutable_registered_at() = ToTimestamp(now);
    batch.Put(entries_, keys::EntryKey(update.case_ref, seq),
              record.SerializeAsString());
    *list.add_postings() = PostingOf(update.case_ref, seq, record);
    written.insert(entry.token);
    ++seq;
    ++added;
  }
  for (const std::string& token : written) {
    batch.Put(token_index_, token, postings[token].SerializeAsString());
  }
  c.set_entry_count(c.entry_count() + added);
  batch.Put(cases_, update.case_ref, c.SerializeAsString());
  batch.Put(meta_, keys::kNextEntrySeq, keys::EncodeUint64(seq));
  if (absl::Status s = FromRocks(db_->Write(SyncedWrite(), &batch), "write");
      !s.ok()) {
    return s;
  }
  next_entry_seq_ = seq;
  return added;
}

absl::StatusOr<std::vector<std::vector<IndexHit>>> CaseStore::Lookup(
    const std::vector<LookupQuery>& queries) const {
  std::vector<std::vector<IndexHit>> results(queries.size());
  if (queries.empty()) return results;
  // A consistent view: postings and cases from the same snapshot.
  rocksdb::ReadOptions read;
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  read.snapshot = snapshot;
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* snapshot;
    ~Release() { db->ReleaseSnapshot(snapshot); }
  } release{db_, snapshot};

  std::vector<rocksdb::Slice> index_keys;
  index_keys.reserve(queries.size());
  for (const LookupQuery& query : queries) index_keys.emplace_back(query.token);
  std::vector<rocksdb::PinnableSlice> values(queries.size());
  std::vector<rocksdb::Status> statuses(queries.size());
  db_->MultiGet(read, token_index_, index_keys.size(), index_keys.data(),
                values.data(), statuses.data());

  std::vector<storage::v1::PostingList> lists(queries.size());
  std::map<std::string, v1::Case> cases;  // case_ref -> header, filled below
  for (size_t i = 0; i < queries.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (absl::Status s = FromRocks(statuses[i], "read token index"); !s.ok()) {
      return s;
    }
    if (!lists[i].ParseFromArray(values[i].data(),
                                 static_cast<int>(values[i].size()))) {
      return absl::DataLossError("token index record is corrupt");
    }
    for (const auto& posting : lists[i].postings()) {
      cases.emplace(posting.case_ref(), v1::Case());
    }
  }
  if (cases.empty()) return results;

  std::vector<std::string> case_refs;
  case_refs.reserve(cases.size());
  for (const auto& [case_ref, unused] : cases) case_refs.push_back(case_ref);
  std::vector<rocksdb::Slice> case_keys(case_refs.begin(), case_refs.end());
  std::vector<rocksdb::PinnableSlice> case_values(case_keys.size());
  std::vector<rocksdb::Status> case_statuses(case_keys.size());
  db_->MultiGet(read, cases_, case_keys.size(), case_keys.data(),
                case_values.data(), case_statuses.data());
  for (size_t i = 0; i < case_refs.size(); ++i) {
    if (absl::Status s = FromRocks(case_statuses[i], "read case"); !s.ok()) {
      return absl::DataLossError(
          absl::StrCat("token index names a missing case: ", s.message()));
    }
    v1::Case& c = cases[case_refs[i]];
    if (!c.ParseFromArray(case_values[i].data(),
                          static_cast<int>(case_values[i].size()))) {
      return absl::DataLossError("case record is corrupt");
    }
    SetCurrentState(&c);
  }

  for (size_t i = 0; i < queries.size(); ++i) {
    for (const auto& posting : lists[i].postings()) {
      const v1::Case& c = cases[posting.case_ref()];
      if (c.state() != v1::CASE_STATE_OPEN) continue;
      if (posting.has_observed() &&
          !WindowsOverlap(posting.observed(), queries[i].observed)) {
        continue;
      }
      results[i].push_back(IndexHit{c, posting});
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
  std::set<std::string> tokens;
  absl::Status read =
      ForEachEntry(case_ref, [&](const storage::v1::EntryRecord& record) {
        tokens.insert(record.token());
      });
  if (!read.ok()) return read;
  for (const std::string& token : tokens) {
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
  absl::StatusOr<std::vector<std::vector<IndexHit>>> hits =
      Lookup({LookupQuery{token, {}}});
  if (!hits.ok()) return hits.status();
  std::vector<OwnEntryRecord> entries;
  for (const IndexHit& hit : (*hits)[0]) {
    std::string value;
    rocksdb::Status read = db_->Get(
        rocksdb::ReadOptions(), entries_,
        keys::EntryKey(hit.owner.case_ref(), hit.posting.entry_seq()), &value);
    if (absl::Status s = FromRocks(read, "read entry"); !s.ok()) return s;
    OwnEntryRecord own;
    own.case_ref = hit.owner.case_ref();
    if (!own.entry.ParseFromString(value)) {
      return absl::DataLossError("entry record is corrupt");
    }
    entries.push_back(std::move(own));
  }
  return entries;
}

}  // namespace deconfliction
