#include "security/staged_tls_files.h"

#include <sys/stat.h>

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "base/periodic.h"
#include "security/revocation.h"
#include "security/tls.h"

namespace deconfliction {
namespace {

// Copies `from` to `to` through a temporary name, so that a reader sees
// the old file or the new one, never a part.
absl::Status CopyAtomically(const std::string& from, const std::string& to,
                            std::filesystem::perms mode) {
  const std::string temporary = to + ".new";
  std::error_code error;
  std::filesystem::copy_file(from, temporary,
                             std::filesystem::copy_options::overwrite_existing,
                             error);
  if (!error) {
    std::filesystem::permissions(temporary, mode,
                                 std::filesystem::perm_options::replace, error);
  }
  if (!error) std::filesystem::rename(temporary, to, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot copy ", from, " to ", to, ": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<StagedTlsFiles>> StagedTlsFiles::Stage(
    const config::v1::TlsFiles& configured, const std::string& own_id,
    const std::string& staging_dir, absl::string_view field) {
  config::v1::TlsFiles staged;
  staged.set_cert_file(staging_dir + "/cert.pem");
  staged.set_key_file(staging_dir + "/key.pem");
  staged.set_ca_file(staging_dir + "/ca.pem");
  staged.set_crl_dir(configured.crl_dir());
  std::unique_ptr<StagedTlsFiles> files(new StagedTlsFiles(
      configured, own_id, std::string(field), std::move(staged)));
  if (absl::Status s = files->Check(); !s.ok()) return s;
  std::error_code error;
  std::filesystem::create_directories(staging_dir, error);
  if (!error) {
    std::filesystem::permissions(staging_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, error);
  }
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", staging_dir,
                     " for the TLS files: ", error.message()));
  }
  if (absl::Status s = files->Copy(); !s.ok()) return s;
  {
    absl::MutexLock lock(&files->mu_);
    files->state_ = files->ConfiguredState();
  }
  StagedTlsFiles* watched = files.get();
  files->poller_ = std::make_unique<Periodic>(
      kTlsFilesPollInterval, [watched, said = std::string()]() mutable {
        absl::Status status = watched->Restage();
        // Each refusal once, not every poll.
        if (!status.ok() && status.message() != said) {
          LogError("tls", "certificate files refused, the ones in force stay",
                   {{"reason", std::string(status.message())}});
        }
        said = std::string(status.message());
      });
  return files;
}

StagedTlsFiles::StagedTlsFiles(config::v1::TlsFiles configured,
                               std::string own_id, std::string field,
                               config::v1::TlsFiles staged)
    : configured_(std::move(configured)),
      own_id_(std::move(own_id)),
      field_(std::move(field)),
      staged_(std::move(staged)) {}

StagedTlsFiles::~StagedTlsFiles() {
  poller_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(
      std::filesystem::path(staged_.cert_file()).parent_path(), ignored);
}

std::string StagedTlsFiles::ConfiguredState() const {
  std::vector<std::string> parts;
  for (const std::string* path :
       {&configured_.cert_file(), &configured_.key_file(),
        &configured_.ca_file()}) {
    struct stat info;
    if (stat(path->c_str(), &info) != 0) {
      parts.emplace_back("missing");
      continue;
    }
    parts.push_back(absl::StrCat(info.st_ino, ":", info.st_size, ":",
                                 info.st_mtim.tv_sec, ".",
                                 info.st_mtim.tv_nsec));
  }
  return absl::StrJoin(parts, "/");
}

absl::Status StagedTlsFiles::Check() const {
  return CheckOwnTlsFiles(configured_, own_id_, field_);
}

absl::Status StagedTlsFiles::Copy() const {
  using std::filesystem::perms;
  const perms readable = perms::owner_read | perms::owner_write;
  // The CA first: a new certificate may chain to a new CA; the key before
  // the certificate, which gRPC's watcher pairs with it.
  for (auto [from, to] :
       {std::pair(&configured_.ca_file(), &staged_.ca_file()),
        std::pair(&configured_.key_file(), &staged_.key_file()),
        std::pair(&configured_.cert_file(), &staged_.cert_file())}) {
    if (absl::Status s = CopyAtomically(*from, *to, readable); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status StagedTlsFiles::Restage() {
  const std::string state = ConfiguredState();
  absl::MutexLock lock(&mu_);
  if (state == state_) return absl::OkStatus();
  if (absl::Status s = Check(); !s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat("the changed certificate files are refused, "
                               "still serving with the previous ones: ",
                               s.message()));
  }
  if (absl::Status s = Copy(); !s.ok()) return s;
  state_ = state;
  LogInfo("tls", "certificate files changed, checked and in force",
          {{"cert_file", configured_.cert_file()}});
  return absl::OkStatus();
}

absl::Status StagedTlsFiles::Reload() {
  if (absl::Status s = Restage(); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<RevocationList>> revocations =
      RevocationList::Watch(staged_, field_);
  if (!revocations.ok()) return revocations.status();
  if (*revocations == nullptr) return absl::OkStatus();
  return (*revocations)->Reread();
}

}  // namespace deconfliction
