#include "storage/audit_log.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/digest.h"
#include "base/key_file.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"

namespace deconfliction {
namespace {

// The stored bytes of a keyed record end with its mac field: tag (field 13,
// length-delimited), length, then the mac. The mac covers the bytes before.
constexpr char kMacTag = static_cast<char>((13 << 3) | 2);
constexpr size_t kMacSuffixBytes = 2 + kAuditMacBytes;

absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

// The bytes a keyed record's mac covers, or nullopt when `stored` does not
// end with a mac field.
std::optional<absl::string_view> MacCovered(absl::string_view stored) {
  if (stored.size() < kMacSuffixBytes) return std::nullopt;
  absl::string_view suffix = stored.substr(stored.size() - kMacSuffixBytes);
  if (suffix[0] != kMacTag || suffix[1] != static_cast<char>(kAuditMacBytes)) {
    return std::nullopt;
  }
  return stored.substr(0, stored.size() - kMacSuffixBytes);
}

// OK when `record`, stored as `stored`, carries the mac of its bytes under
// `key`.
absl::Status CheckMac(const storage::v1::AuditRecord& record,
                      absl::string_view stored, HmacSha256& key) {
  std::optional<absl::string_view> covered = MacCovered(stored);
  if (!covered || key.Mac(*covered) != record.mac()) {
    return absl::DataLossError(absl::StrCat(
        "audit record #", record.seq(),
        " was altered (its mac does not match its contents under the key)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LoadOrCreateKey(const std::string& key_file,
                                            bool trail_is_keyed) {
  absl::StatusOr<std::string> key =
      ReadOwnerOnlyFile(key_file, "the audit key");
  if (absl::IsNotFound(key.status()) && !trail_is_keyed) {
    std::string fresh = RandomBytes(kAuditKeyBytes);
    if (fresh.empty()) {
      return absl::FailedPreconditionError("no random bytes for an audit key");
    }
    if (absl::Status s = WriteKeyFile(key_file, fresh, 0600); !s.ok()) {
      return s;
    }
    return fresh;
  }
  if (absl::IsNotFound(key.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        key_file,
        ": missing, and the audit trail is keyed (restore the key file that "
        "was created with the trail; a new key could not continue it)"));
  }
  if (!key.ok()) return key.status();
  if (key->size() != kAuditKeyBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat(key_file, ": an audit key is ", kAuditKeyBytes,
                     " bytes, not ", key->size()));
  }
  return key;
}

}  // namespace

std::string AuditKeyFile(const std::string& dir) {
  return absl::StrCat(dir, "/audit.key");
}

AuditLog::AuditLog(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                   const std::string& key, const AuditHead& head,
                   std::string legacy_hash)
    : db_(db),
      family_(family),
      mac_(key),
      appends_([this](const std::vector<storage::v1::AuditRecord*>& group) {
        return WriteGroup(group);
      }),
      head_(head),
      synced_(head),
      legacy_hash_(std::move(legacy_hash)),
      syncer_(
          kAuditSyncInterval, [this] { SyncIfWritten(); },
          Periodic::AtStop::kRunOnceMore) {}

void AuditLog::SyncIfWritten() {
  AuditHead head;
  {
    absl::MutexLock lock(&mu_);
    if (!unsynced_) return;
    unsynced_ = false;
    head = head_;
  }
  // A failed sync is retried with the next interval's records.
  const bool synced = db_->SyncWAL().ok();
  absl::MutexLock lock(&mu_);
  if (!synced) {
    unsynced_ = true;
  } else if (head.seq > synced_.seq) {
    synced_ = std::move(head);
  }
}

AuditHead AuditLog::SyncedHead() const {
  absl::MutexLock lock(&mu_);
  return synced_;
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(
    const Database& database, const std::string& key_file) {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> audit =
      database.Family(families::kAudit);
  if (!audit.ok()) return audit.status();
  rocksdb::DB* db = database.db();
  rocksdb::ColumnFamilyHandle* family = *audit;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), family));
  it->SeekToLast();
  if (absl::Status s = FromRocks(it->status(), "read audit"); !s.ok()) {
    return s;
  }
  storage::v1::AuditRecord last;
  if (it->Valid() &&
      !last.ParseFromArray(it->value().data(),
                           static_cast<int>(it->value().size()))) {
    return absl::DataLossError("the newest audit record is corrupt");
  }
  absl::StatusOr<std::string> key =
      LoadOrCreateKey(key_file, /*trail_is_keyed=*/!last.mac().empty());
  if (!key.ok()) return key.status();
  AuditHead head;
  std::string legacy_hash;
  if (it->Valid()) {
    std::optional<uint64_t> seq = keys::DecodeUint64(View(it->key()));
    if (!seq) return absl::DataLossError("audit key is malformed");
    head.seq = *seq;
    HmacSha256 mac(*key);
    if (last.mac().empty()) {
      legacy_hash = Sha256(View(it->value()));
    } else if (absl::Status s = CheckMac(last, View(it->value()), mac);
               !s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          key_file, ": not the key the audit trail was written with, or ",
          s.message()));
    }
    head.mac = last.mac();
  }
  return std::unique_ptr<AuditLog>(
      new AuditLog(db, family, *key, head, std::move(legacy_hash)));
}

absl::Status AuditLog::Append(storage::v1::AuditRecord record) {
  return appends_.Commit(&record);
}

absl::Status AuditLog::WriteGroup(
    const std::vector<storage::v1::AuditRecord*>& group) {
  AuditHead head;
  std::string legacy_hash;
  {
    absl::MutexLock lock(&mu_);
    head = head_;
    legacy_hash = legacy_hash_;
  }
  rocksdb::WriteBatch batch;
  for (storage::v1::AuditRecord* record : group) {
    const uint64_t seq = head.seq + 1;
    record->set_seq(seq);
    record->clear_mac();
    record->clear_previous_hash();
    record->clear_previous_mac();
    if (!head.mac.empty()) {
      record->set_previous_mac(head.mac);
    } else if (!legacy_hash.empty()) {
      record->set_previous_hash(legacy_hash);
    }
    std::string stored;
    record->SerializeToString(&stored);
    std::string mac = mac_.Mac(stored);
    if (mac.empty()) return absl::InternalError("audit record: HMAC failed");
    stored.push_back(kMacTag);
    stored.push_back(static_cast<char>(kAuditMacBytes));
    stored.append(mac);
    batch.Put(family_, keys::EncodeUint64(seq), stored);
    head = AuditHead{seq, std::move(mac)};
    legacy_hash.clear();
  }
  absl::Status written =
      FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "write audit");
  if (!written.ok()) return written;
  absl::MutexLock lock(&mu_);
  head_ = std::move(head);
  legacy_hash_.clear();
  unsynced_ = true;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> AuditLog::Export(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
    const std::string& key,
    const std::function<void(const storage::v1::AuditRecord&)>& visit) {
  HmacSha256 mac(key);
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), family));
  // The previous record's links: its mac when keyed, else the SHA-256 of
  // its stored bytes.
  std::string previous_mac;
  std::string previous_hash;
  uint64_t count = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    storage::v1::AuditRecord record;
    if (!record.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("audit record after #", count, " is corrupt"));
    }
    const bool keyed = !record.mac().empty();
    if (keyed && key.empty()) {
      return absl::FailedPreconditionError(
          "the audit trail is keyed: its audit key is needed to verify it");
    }
    if (keyed) {
      if (absl::Status s = CheckMac(record, View(it->value()), mac); !s.ok()) {
        return s;
      }
    }
    // Once keyed, always keyed: an unkeyed record after a keyed one was
    // forged.
    const bool linked = previous_mac.empty()
                            ? record.previous_hash() == previous_hash &&
                                  record.previous_mac().empty()
                            : keyed && record.previous_mac() == previous_mac &&
                                  record.previous_hash().empty();
    if (!linked || keys::DecodeUint64(View(it->key())) != record.seq()) {
      return absl::DataLossError(
          absl::StrCat("audit chain broken at record #", record.seq(),
                       ": a record before it was removed or altered"));
    }
    previous_mac = record.mac();
    previous_hash = keyed ? "" : Sha256(View(it->value()));
    visit(record);
    ++count;
  }
  if (absl::Status s = FromRocks(it->status(), "read audit"); !s.ok()) {
    return s;
  }
  return count;
}

absl::StatusOr<std::unique_ptr<AuditDatabase>> AuditDatabase::Open(
    const std::string& dir) {
  std::unique_ptr<AuditDatabase> opened(new AuditDatabase());
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::Open(dir, AuditFamilies());
  if (!database.ok()) return database.status();
  opened->database_ = *std::move(database);
  absl::StatusOr<std::unique_ptr<AuditLog>> audit =
      AuditLog::Open(*opened->database_, AuditKeyFile(dir));
  if (!audit.ok()) return audit.status();
  opened->audit_ = *std::move(audit);
  return opened;
}

AuditDatabase::~AuditDatabase() = default;

uint64_t AuditDatabase::IntProperty(const std::string& property) const {
  return database_->IntProperty(property);
}

absl::Status AuditDatabase::Probe() const { return database_->Probe(); }

absl::StatusOr<uint64_t> ExportAudit(
    const std::string& dir, const std::string& key_file,
    const std::function<void(const storage::v1::AuditRecord&)>& visit) {
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::OpenReadOnly(dir);
  if (!database.ok()) return database.status();
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> audit =
      (*database)->Family(families::kAudit);
  if (!audit.ok()) {
    return absl::NotFoundError(absl::StrCat(dir, " has no audit trail"));
  }
  // A trail written before keys has none; a keyed one says so in Export.
  absl::StatusOr<std::string> key =
      ReadOwnerOnlyFile(key_file, "the audit key");
  if (!key.ok() && !absl::IsNotFound(key.status())) return key.status();
  absl::StatusOr<uint64_t> count =
      AuditLog::Export((*database)->db(), *audit, key.ok() ? *key : "", visit);
  if (absl::IsFailedPrecondition(count.status()) && !key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(key_file, ": missing; ", count.status().message()));
  }
  return count;
}

AnchorCheck::AnchorCheck(const std::vector<storage::v1::AuditAnchor>& anchors) {
  for (const storage::v1::AuditAnchor& anchor : anchors) {
    anchored_[anchor.seq()].push_back(anchor.mac());
  }
}

void AnchorCheck::Visit(const storage::v1::AuditRecord& record) {
  if (anchored_.count(record.seq()) != 0) seen_[record.seq()] = record.mac();
}

absl::StatusOr<AnchorCheck::Summary> AnchorCheck::Finish(
    uint64_t last_seq) const {
  Summary summary;
  for (const auto& [seq, macs] : anchored_) {
    auto seen = seen_.find(seq);
    if (seen == seen_.end()) {
      return absl::DataLossError(absl::StrCat(
          "the hub holds an anchor for audit record #", seq, " but the trail ",
          last_seq == 0 ? "is empty" : "ends at #",
          last_seq == 0 ? "" : absl::StrCat(last_seq),
          seq > last_seq ? ": its tail was cut" : ": the record was removed"));
    }
    for (const std::string& mac : macs) {
      if (mac != seen->second) {
        return absl::DataLossError(absl::StrCat(
            "audit record #", seq,
            " is not the one the hub anchored: the trail was altered, or "
            "rebuilt (as by a restore from an older backup, which loses the "
            "records after it)"));
      }
    }
    summary.anchors += macs.size();
    summary.newest_anchored_seq = seq;
  }
  summary.unanchored =
      last_seq - std::min(last_seq, summary.newest_anchored_seq);
  return summary;
}

}  // namespace deconfliction
