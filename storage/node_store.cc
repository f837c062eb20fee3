#include "storage/node_store.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/timestamps.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/audit_log.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {
namespace {

constexpr uint64_t kCurrentSchemaVersion = 1;

}  // namespace

absl::StatusOr<std::unique_ptr<NodeStore>> NodeStore::Open(
    const std::string& dir, const std::string& agency_id, Clock clock) {
  std::vector<FamilyDescriptor> families;
  for (const ColumnFamilySpec& spec : kColumnFamilies) {
    families.push_back({spec.name, ColumnFamilyOptionsFor(spec.family)});
  }
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::Open(dir, families);
  if (!database.ok()) return database.status();
  rocksdb::DB* db = (*database)->db();
  rocksdb::ColumnFamilyHandle* meta =
      (*database)->family(static_cast<size_t>(ColumnFamily::kMeta));
  std::string stored_agency, stored_version, stored_seq;
  rocksdb::Status agency_status =
      db->Get(rocksdb::ReadOptions(), meta, keys::kAgencyId, &stored_agency);
  uint64_t next_entry_seq = 1;
  if (agency_status.IsNotFound()) {
    rocksdb::WriteBatch batch;
    batch.Put(meta, keys::kAgencyId, agency_id);
    batch.Put(meta, keys::kSchemaVersion,
              keys::EncodeUint64(kCurrentSchemaVersion));
    batch.Put(meta, keys::kNextEntrySeq, keys::EncodeUint64(next_entry_seq));
    if (absl::Status s = FromRocks(db->Write(SyncedWrite(), &batch), "init");
        !s.ok()) {
      return s;
    }
  } else {
    if (absl::Status s = FromRocks(agency_status, "read agency"); !s.ok()) {
      return s;
    }
    if (stored_agency != agency_id) {
      return absl::FailedPreconditionError(
          absl::StrCat("data_dir ", dir, " belongs to agency \"", stored_agency,
                       "\", not \"", agency_id, "\""));
    }
    if (absl::Status s =
            FromRocks(db->Get(rocksdb::ReadOptions(), meta,
                              keys::kSchemaVersion, &stored_version),
                      "read schema version");
        !s.ok()) {
      return s;
    }
    if (keys::DecodeUint64(stored_version) != kCurrentSchemaVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("data_dir ", dir, " has an unknown schema version"));
    }
    if (absl::Status s = FromRocks(db->Get(rocksdb::ReadOptions(), meta,
                                           keys::kNextEntrySeq, &stored_seq),
                                   "read entry counter");
        !s.ok()) {
      return s;
    }
    std::optional<uint64_t> seq = keys::DecodeUint64(stored_seq);
    if (!seq) return absl::DataLossError("entry counter is malformed");
    next_entry_seq = *seq;
  }
  // Alert counters start at 1 and 0 on a database that has had no alert.
  uint64_t counters[2] = {1, 0};
  const char* counter_keys[2] = {keys::kNextAlertCursor,
                                 keys::kUnacknowledgedAlerts};
  for (int i = 0; i < 2; ++i) {
    std::string value;
    rocksdb::Status read =
        db->Get(rocksdb::ReadOptions(), meta, counter_keys[i], &value);
    if (read.IsNotFound()) continue;
    if (absl::Status s = FromRocks(read, "read alert counters"); !s.ok()) {
      return s;
    }
    std::optional<uint64_t> decoded = keys::DecodeUint64(value);
    if (!decoded) return absl::DataLossError("alert counter is malformed");
    counters[i] = *decoded;
  }
  absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(
      db, (*database)->family(static_cast<size_t>(ColumnFamily::kAudit)));
  if (!audit.ok()) return audit.status();
  return std::unique_ptr<NodeStore>(
      new NodeStore(*std::move(database), *std::move(audit), std::move(clock),
                    next_entry_seq, counters[0], counters[1]));
}

NodeStore::NodeStore(std::unique_ptr<Database> database,
                     std::unique_ptr<AuditLog> audit, Clock clock,
                     uint64_t next_entry_seq, uint64_t next_alert_cursor,
                     uint64_t unacknowledged_alerts)
    : database_(std::move(database)),
      db_(database_->db()),
      audit_(std::move(audit)),
      clock_(std::move(clock)),
      next_entry_seq_(next_entry_seq),
      next_alert_cursor_(next_alert_cursor),
      unacknowledged_alerts_(unacknowledged_alerts) {}

NodeStore::~NodeStore() = default;

absl::Status NodeStore::AppendAudit(storage::v1::AuditRecord record) {
  return audit_->Append(std::move(record));
}

rocksdb::ColumnFamilyHandle* NodeStore::Handle(ColumnFamily family) const {
  return database_->family(static_cast<size_t>(family));
}

absl::StatusOr<v1::Case> NodeStore::ReadCase(
    const std::string& case_ref) const {
  std::string value;
  rocksdb::Status status = db_->Get(
      rocksdb::ReadOptions(), Handle(ColumnFamily::kCases), case_ref, &value);
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

void NodeStore::SetCurrentState(v1::Case* c) const {
  if (c->state() == v1::CASE_STATE_OPEN && c->has_expires_at() &&
      FromTimestamp(c->expires_at()) <= clock_()) {
    c->set_state(v1::CASE_STATE_EXPIRED);
  }
}

absl::StatusOr<uint32_t> NodeStore::Register(
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
        db_->Get(rocksdb::ReadOptions(), Handle(ColumnFamily::kTokenIndex),
                 entry.token, &value);
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
    batch.Put(Handle(ColumnFamily::kEntries),
              keys::EntryKey(update.case_ref, seq), record.SerializeAsString());
    storage::v1::Posting* posting = list.add_postings();
    posting->set_case_ref(update.case_ref);
    posting->set_entry_seq(seq);
    if (IsTimeBound(entry.canonical.type)) {
      *posting->mutable_observed() = entry.identifier.observed();
    }
    *posting->mutable_registered_at() = ToTimestamp(now);
    written.insert(entry.token);
    ++seq;
    ++added;
  }
  for (const std::string& token : written) {
    batch.Put(Handle(ColumnFamily::kTokenIndex), token,
              postings[token].SerializeAsString());
  }
  c.set_entry_count(c.entry_count() + added);
  batch.Put(Handle(ColumnFamily::kCases), update.case_ref,
            c.SerializeAsString());
  batch.Put(Handle(ColumnFamily::kMeta), keys::kNextEntrySeq,
            keys::EncodeUint64(seq));
  if (absl::Status s = FromRocks(db_->Write(SyncedWrite(), &batch), "write");
      !s.ok()) {
    return s;
  }
  next_entry_seq_ = seq;
  return added;
}

absl::StatusOr<std::vector<std::vector<IndexHit>>> NodeStore::Lookup(
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
  db_->MultiGet(read, Handle(ColumnFamily::kTokenIndex), index_keys.size(),
                index_keys.data(), values.data(), statuses.data());

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
  for (const auto& [case_ref, unused] : cases) case_refs.push_back(case_ref);
  std::vector<rocksdb::Slice> case_keys(case_refs.begin(), case_refs.end());
  std::vector<rocksdb::PinnableSlice> case_values(case_keys.size());
  std::vector<rocksdb::Status> case_statuses(case_keys.size());
  db_->MultiGet(read, Handle(ColumnFamily::kCases), case_keys.size(),
                case_keys.data(), case_values.data(), case_statuses.data());
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

absl::StatusOr<absl::Time> NodeStore::CloseCase(const std::string& case_ref,
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
        db_->Get(rocksdb::ReadOptions(), Handle(ColumnFamily::kTokenIndex),
                 token, &value);
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
      batch.Delete(Handle(ColumnFamily::kTokenIndex), token);
    } else {
      batch.Put(Handle(ColumnFamily::kTokenIndex), token,
                kept.SerializeAsString());
    }
  }
  const absl::Time now = clock_();
  c->set_state(v1::CASE_STATE_CLOSED);
  *c->mutable_closed_at() = ToTimestamp(now);
  c->set_close_reason(reason);
  batch.Put(Handle(ColumnFamily::kCases), case_ref, c->SerializeAsString());
  if (absl::Status s = FromRocks(db_->Write(SyncedWrite(), &batch), "write");
      !s.ok()) {
    return s;
  }
  return now;
}

absl::Status NodeStore::ForEachEntry(
    const std::string& case_ref,
    const std::function<void(const storage::v1::EntryRecord&)>& visit) const {
  const std::string prefix = keys::EntryPrefix(case_ref);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), Handle(ColumnFamily::kEntries)));
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

absl::StatusOr<v1::Case> NodeStore::GetCase(const std::string& case_ref,
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

absl::StatusOr<CasePage> NodeStore::ListCases(const std::string& page_token,
                                              size_t page_size,
                                              bool include_closed) const {
  if (!page_token.empty() && !keys::ValidateCaseRef(page_token).ok()) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  CasePage page;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), Handle(ColumnFamily::kCases)));
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

absl::StatusOr<std::vector<OwnEntryRecord>> NodeStore::EntriesForToken(
    const std::string& token) const {
  absl::StatusOr<std::vector<std::vector<IndexHit>>> hits =
      Lookup({LookupQuery{token, {}}});
  if (!hits.ok()) return hits.status();
  std::vector<OwnEntryRecord> entries;
  for (const IndexHit& hit : (*hits)[0]) {
    std::string value;
    rocksdb::Status read = db_->Get(
        rocksdb::ReadOptions(), Handle(ColumnFamily::kEntries),
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

absl::StatusOr<StoredAlerts> NodeStore::StoreAlerts(
    std::vector<v1::Alert> alerts) {
  rocksdb::ColumnFamilyHandle* family = Handle(ColumnFamily::kAlerts);
  absl::MutexLock lock(&write_mu_);
  StoredAlerts outcome;
  rocksdb::WriteBatch batch;
  uint64_t cursor = next_alert_cursor_;
  std::set<std::string> in_batch;
  for (v1::Alert& alert : alerts) {
    std::string held;
    rocksdb::Status read = db_->Get(rocksdb::ReadOptions(), family,
                                    keys::AlertIdKey(alert.alert_id()), &held);
    if (!read.IsNotFound() || !in_batch.insert(alert.alert_id()).second) {
      if (absl::Status s = FromRocks(read, "read alert id");
          !s.ok() && !read.IsNotFound()) {
        return s;
      }
      ++outcome.duplicates;
      continue;
    }
    alert.set_cursor(cursor);
    batch.Put(family, keys::AlertIdKey(alert.alert_id()),
              keys::EncodeUint64(cursor));
    batch.Put(family, keys::AlertKey(cursor), alert.SerializeAsString());
    ++cursor;
    ++outcome.stored;
  }
  if (outcome.stored == 0) return outcome;
  rocksdb::ColumnFamilyHandle* meta = Handle(ColumnFamily::kMeta);
  batch.Put(meta, keys::kNextAlertCursor, keys::EncodeUint64(cursor));
  batch.Put(meta, keys::kUnacknowledgedAlerts,
            keys::EncodeUint64(unacknowledged_alerts_ + outcome.stored));
  if (absl::Status s = FromRocks(db_->Write(SyncedWrite(), &batch), "write");
      !s.ok()) {
    return s;
  }
  next_alert_cursor_ = cursor;
  unacknowledged_alerts_ += outcome.stored;
  return outcome;
}

absl::StatusOr<std::vector<v1::Alert>> NodeStore::AlertsAfter(
    uint64_t after, size_t limit) const {
  std::vector<v1::Alert> alerts;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), Handle(ColumnFamily::kAlerts)));
  for (it->Seek(keys::AlertKey(after + 1));
       it->Valid() && alerts.size() < limit; it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (!keys::DecodeAlertKey(key)) break;  // past the 'c' range
    v1::Alert alert;
    if (!alert.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size()))) {
      return absl::DataLossError("alert record is corrupt");
    }
    alerts.push_back(std::move(alert));
  }
  if (absl::Status s = FromRocks(it->status(), "read alerts"); !s.ok()) {
    return s;
  }
  return alerts;
}

absl::StatusOr<AcknowledgedAlerts> NodeStore::AcknowledgeAlerts(
    const std::vector<std::string>& alert_ids) {
  rocksdb::ColumnFamilyHandle* family = Handle(ColumnFamily::kAlerts);
  absl::MutexLock lock(&write_mu_);
  AcknowledgedAlerts outcome;
  rocksdb::WriteBatch batch;
  std::set<std::string> seen;
  for (const std::string& id : alert_ids) {
    if (!seen.insert(id).second) continue;
    std::string cursor;
    rocksdb::Status read =
        db_->Get(rocksdb::ReadOptions(), family, keys::AlertIdKey(id), &cursor);
    if (read.IsNotFound()) {
      outcome.unknown_ids.push_back(id);
      continue;
    }
    if (absl::Status s = FromRocks(read, "read alert id"); !s.ok()) return s;
    std::optional<uint64_t> position = keys::DecodeUint64(cursor);
    std::string value;
    if (!position || !db_->Get(rocksdb::ReadOptions(), family,
                               keys::AlertKey(*position), &value)
                          .ok()) {
      return absl::DataLossError("alert index names a missing alert");
    }
    v1::Alert alert;
    if (!alert.ParseFromString(value)) {
      return absl::DataLossError("alert record is corrupt");
    }
    if (alert.has_acknowledged_at()) continue;
    *alert.mutable_acknowledged_at() = ToTimestamp(clock_());
    batch.Put(family, keys::AlertKey(*position), alert.SerializeAsString());
    ++outcome.acknowledged;
  }
  if (outcome.acknowledged == 0) return outcome;
  const uint64_t remaining = unacknowledged_alerts_ - outcome.acknowledged;
  batch.Put(Handle(ColumnFamily::kMeta), keys::kUnacknowledgedAlerts,
            keys::EncodeUint64(remaining));
  if (absl::Status s = FromRocks(db_->Write(SyncedWrite(), &batch), "write");
      !s.ok()) {
    return s;
  }
  unacknowledged_alerts_ = remaining;
  return outcome;
}

absl::Status NodeStore::QueueFederation(
    const storage::v1::PendingLookup& pending) {
  absl::MutexLock lock(&write_mu_);
  if (next_pending_seq_ == 0) {
    // Continue after the last queued key (the queue is usually empty).
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(
        rocksdb::ReadOptions(), Handle(ColumnFamily::kFederationQueue)));
    it->SeekToLast();
    next_pending_seq_ = 1;
    if (it->Valid()) {
      std::optional<uint64_t> last = keys::DecodeUint64(
          absl::string_view(it->key().data(), it->key().size()));
      if (last) next_pending_seq_ = *last + 1;
    }
  }
  absl::Status written =
      FromRocks(db_->Put(SyncedWrite(), Handle(ColumnFamily::kFederationQueue),
                         keys::EncodeUint64(next_pending_seq_),
                         pending.SerializeAsString()),
                "queue federated lookup");
  if (written.ok()) ++next_pending_seq_;
  return written;
}

absl::StatusOr<std::vector<std::pair<std::string, storage::v1::PendingLookup>>>
NodeStore::PendingFederation(size_t limit) const {
  std::vector<std::pair<std::string, storage::v1::PendingLookup>> pending;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(
      rocksdb::ReadOptions(), Handle(ColumnFamily::kFederationQueue)));
  for (it->SeekToFirst(); it->Valid() && pending.size() < limit; it->Next()) {
    storage::v1::PendingLookup lookup;
    if (!lookup.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError("queued federated lookup is corrupt");
    }
    pending.emplace_back(it->key().ToString(), std::move(lookup));
  }
  if (absl::Status s = FromRocks(it->status(), "read federation queue");
      !s.ok()) {
    return s;
  }
  return pending;
}

absl::Status NodeStore::RemovePendingFederation(const std::string& key) {
  return FromRocks(
      db_->Delete(SyncedWrite(), Handle(ColumnFamily::kFederationQueue), key),
      "remove federated lookup");
}

AlertInbox NodeStore::AlertInboxState() const {
  absl::MutexLock lock(&write_mu_);
  return AlertInbox{next_alert_cursor_ - 1, unacknowledged_alerts_};
}

}  // namespace deconfliction
