#include "storage/database.h"

#include <sys/stat.h>

#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/log.h"
#include "storage/keys.h"

namespace deconfliction {

absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", status.ToString());
  if (status.IsNotFound()) return absl::NotFoundError(message);
  if (status.IsIOError() || status.IsBusy() || status.IsTimedOut() ||
      status.IsTryAgain()) {
    return absl::UnavailableError(message);
  }
  if (status.IsCorruption()) return absl::DataLossError(message);
  return absl::InternalError(message);
}

rocksdb::WriteOptions SyncedWrite() {
  rocksdb::WriteOptions options;
  options.sync = true;
  return options;
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(
    const std::string& dir, const std::vector<FamilyDescriptor>& families) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("data_dir: cannot create ", dir, ": ", error.message()));
  }
  struct stat info;
  if (stat(dir.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
    LogWarning("storage",
               "data_dir is open to other users: chmod 700 it (it holds this "
               "server's records)",
               {{"data_dir", dir},
                {"mode", absl::StrFormat("%03o", info.st_mode & 0777)}});
  }
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.reserve(families.size());
  for (const FamilyDescriptor& family : families) {
    descriptors.emplace_back(family.name, family.options);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status opened =
      rocksdb::DB::Open(options, dir, descriptors, &handles, &raw);
  if (!opened.ok()) {
    return absl::UnavailableError(
        absl::StrCat("data_dir: cannot open ", dir, ": ", opened.ToString()));
  }
  return std::unique_ptr<Database>(
      new Database(std::unique_ptr<rocksdb::DB>(raw), std::move(handles)));
}

absl::StatusOr<std::unique_ptr<Database>> Database::OpenReadOnly(
    const std::string& dir) {
  std::vector<std::string> names;
  rocksdb::Status listed =
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
  if (!listed.ok()) {
    return absl::NotFoundError(
        absl::StrCat(dir, " is not a database: ", listed.ToString()));
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.reserve(names.size());
  for (const std::string& name : names) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status opened = rocksdb::DB::OpenForReadOnly(
      rocksdb::DBOptions(), dir, descriptors, &handles, &raw);
  if (!opened.ok()) return FromRocks(opened, absl::StrCat("open ", dir));
  return std::unique_ptr<Database>(
      new Database(std::unique_ptr<rocksdb::DB>(raw), std::move(handles)));
}

absl::Status Database::Probe() const {
  const rocksdb::Status written =
      db_->Put(rocksdb::WriteOptions(), keys::kHealthProbe,
               keys::EncodeUint64(
                   static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()))));
  if (written.ok()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("storage does not take writes: ", written.ToString()));
}

uint64_t Database::IntProperty(const std::string& property) const {
  uint64_t value = 0;
  if (!db_->GetAggregatedIntProperty(property, &value)) return 0;
  return value;
}

absl::StatusOr<rocksdb::ColumnFamilyHandle*> Database::Family(
    absl::string_view name) const {
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    if (handle->GetName() == name) return handle;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("database has no column family \"", name, "\""));
}

absl::StatusOr<std::vector<rocksdb::ColumnFamilyHandle*>> Database::Families(
    const std::vector<absl::string_view>& names) const {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  handles.reserve(names.size());
  for (absl::string_view name : names) {
    absl::StatusOr<rocksdb::ColumnFamilyHandle*> handle = Family(name);
    if (!handle.ok()) return handle.status();
    handles.push_back(*handle);
  }
  return handles;
}

absl::StatusOr<uint64_t> Database::ReadCounter(
    rocksdb::ColumnFamilyHandle* family, absl::string_view key,
    uint64_t missing) const {
  std::string value;
  rocksdb::Status read =
      db_->Get(rocksdb::ReadOptions(), family,
               rocksdb::Slice(key.data(), key.size()), &value);
  if (read.IsNotFound()) return missing;
  if (absl::Status s = FromRocks(read, absl::StrCat("read ", key)); !s.ok()) {
    return s;
  }
  std::optional<uint64_t> decoded = keys::DecodeUint64(value);
  if (!decoded) {
    return absl::DataLossError(absl::StrCat("counter ", key, " is malformed"));
  }
  return *decoded;
}

absl::StatusOr<uint64_t> Database::NextSeq(
    rocksdb::ColumnFamilyHandle* family) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), family));
  it->SeekToLast();
  if (absl::Status s = FromRocks(it->status(), "read the last key"); !s.ok()) {
    return s;
  }
  if (!it->Valid()) return 1;
  std::optional<uint64_t> last =
      keys::DecodeUint64(absl::string_view(it->key().data(), it->key().size()));
  if (!last) {
    return absl::DataLossError(
        absl::StrCat("a key of ", family->GetName(), " is malformed"));
  }
  return *last + 1;
}

Database::~Database() {
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle);
  }
  db_->Close();
}

}  // namespace deconfliction
