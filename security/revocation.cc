#include "security/revocation.h"

#include <dirent.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "base/periodic.h"
#include "security/certificates.h"

namespace deconfliction {
namespace {

struct CrlDeleter {
  void operator()(X509_CRL* crl) const { X509_CRL_free(crl); }
};
using CrlPtr = std::unique_ptr<X509_CRL, CrlDeleter>;

constexpr size_t kMaxCachedKeys = 4096;
constexpr size_t kMaxCrlFileBytes = size_t{64} << 20;

std::string NameDer(const X509_NAME* name) {
  unsigned char* der = nullptr;
  int length = i2d_X509_NAME(name, &der);
  if (length <= 0) return "";
  std::string out(reinterpret_cast<const char*>(der),
                  static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

std::string SerialHex(const ASN1_INTEGER* serial) {
  BIGNUM* number = ASN1_INTEGER_to_BN(serial, nullptr);
  if (number == nullptr) return "";
  char* hex = BN_bn2hex(number);
  std::string out = hex == nullptr ? "" : hex;
  OPENSSL_free(hex);
  BN_free(number);
  return out;
}

// The revocation key of a certificate: its issuer and serial.
std::string RevocationKey(const X509_NAME* issuer, const ASN1_INTEGER* serial) {
  return absl::StrCat(NameDer(issuer), "/", SerialHex(serial));
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (content.str().size() > kMaxCrlFileBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is larger than ", kMaxCrlFileBytes, " bytes"));
  }
  return content.str();
}

// The CRLs in one file: PEM (one or several) or DER. Empty if none parse.
std::vector<CrlPtr> ParseCrls(const std::string& content) {
  std::vector<CrlPtr> crls;
  if (absl::StrContains(content, "-----BEGIN X509 CRL-----")) {
    BIO* bio =
        BIO_new_mem_buf(content.data(), static_cast<int>(content.size()));
    while (X509_CRL* crl =
               PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr)) {
      crls.emplace_back(crl);
    }
    BIO_free(bio);
    return crls;
  }
  const auto* der = reinterpret_cast<const unsigned char*>(content.data());
  // NOLINTNEXTLINE(google-runtime-int): OpenSSL's d2i takes a long length.
  const auto length = static_cast<long>(content.size());
  if (X509_CRL* crl = d2i_X509_CRL(nullptr, &der, length)) {
    crls.emplace_back(crl);
  }
  return crls;
}

// The CA of `cas` that issued and signed `crl`, or nullptr.
const X509* SignerOf(X509_CRL* crl, const std::vector<X509Ptr>& cas) {
  for (const X509Ptr& ca : cas) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
                      X509_get_subject_name(ca.get())) != 0) {
      continue;
    }
    EVP_PKEY* key = X509_get0_pubkey(ca.get());
    if (key != nullptr && X509_CRL_verify(crl, key) == 1) return ca.get();
  }
  return nullptr;
}

std::vector<std::string> FileNames(const std::string& dir, bool* readable) {
  std::vector<std::string> names;
  DIR* listing = opendir(dir.c_str());
  *readable = listing != nullptr;
  if (listing == nullptr) return names;
  while (const dirent* entry = readdir(listing)) {
    std::string name = entry->d_name;
    if (name.empty() || name[0] == '.') continue;  // also files being written
    names.push_back(std::move(name));
  }
  closedir(listing);
  std::sort(names.begin(), names.end());
  return names;
}

absl::Mutex watched_mu(absl::kConstInit);
// One list per directory; entries expire with their last user.
absl::flat_hash_map<std::string, std::weak_ptr<RevocationList>>& Watched()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(watched_mu) {
  static auto* watched =
      new absl::flat_hash_map<std::string, std::weak_ptr<RevocationList>>();
  return *watched;
}

}  // namespace

absl::StatusOr<RevokedCertificates> ReadRevocations(const std::string& crl_dir,
                                                    const std::string& ca_file,
                                                    absl::string_view field) {
  auto failed = [&](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ".crl_dir: ", crl_dir, ": ", why));
  };
  std::vector<X509Ptr> cas = ReadCertificates(ca_file);
  if (cas.empty()) {
    return failed(absl::StrCat("no CA certificate in ", ca_file,
                               " to verify the CRLs against"));
  }
  bool readable = false;
  std::vector<std::string> names = FileNames(crl_dir, &readable);
  if (!readable) return failed("cannot read the directory");
  RevokedCertificates list;
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(crl_dir, "/", name);
    struct stat info;
    if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    absl::StatusOr<std::string> content = ReadSmallFile(path);
    if (!content.ok()) return failed(content.status().message());
    std::vector<CrlPtr> crls = ParseCrls(*content);
    if (crls.empty()) return failed(absl::StrCat(name, " is not a CRL"));
    for (const CrlPtr& crl : crls) {
      if (SignerOf(crl.get(), cas) == nullptr) {
        return failed(absl::StrCat(name, " holds a CRL that no CA of ", ca_file,
                                   " signed"));
      }
      STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
      for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
        list.revoked.insert(RevocationKey(
            X509_CRL_get_issuer(crl.get()),
            X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i))));
      }
      list.next_update = std::min(list.next_update,
                                  TimeOf(X509_CRL_get0_nextUpdate(crl.get())));
      ++list.crls;
    }
  }
  if (list.crls == 0) {
    return failed(
        "holds no CRL (an empty directory would revoke nobody; put the "
        "federation CA's current CRL there)");
  }
  return list;
}

absl::StatusOr<std::shared_ptr<RevocationList>> RevocationList::Watch(
    const config::v1::TlsFiles& files, absl::string_view field) {
  if (files.crl_dir().empty()) return nullptr;
  const std::string key = absl::StrCat(files.crl_dir(), "\n", files.ca_file());
  absl::MutexLock lock(&watched_mu);
  if (std::shared_ptr<RevocationList> shared = Watched()[key].lock()) {
    shared->Poll();  // as fresh as a list read now
    return shared;
  }
  absl::StatusOr<RevokedCertificates> list =
      ReadRevocations(files.crl_dir(), files.ca_file(), field);
  if (!list.ok()) return list.status();
  std::shared_ptr<RevocationList> shared(new RevocationList(
      files.crl_dir(), files.ca_file(), std::string(field), *std::move(list)));
  Watched()[key] = shared;
  return shared;
}

RevocationList::RevocationList(std::string crl_dir, std::string ca_file,
                               std::string field, RevokedCertificates current)
    : crl_dir_(std::move(crl_dir)),
      ca_file_(std::move(ca_file)),
      field_(std::move(field)) {
  {
    absl::MutexLock lock(&mu_);
    WarnIfExpiring(current);
    current_ = std::make_shared<const RevokedCertificates>(std::move(current));
    directory_state_ = DirectoryState();
    read_at_ = absl::Now();
  }
  poller_ =
      std::make_unique<Periodic>(kRevocationPollInterval, [this] { Poll(); });
}

RevocationList::~RevocationList() { poller_.reset(); }

std::string RevocationList::DirectoryState() const {
  bool readable = false;
  std::vector<std::string> parts;
  for (const std::string& name : FileNames(crl_dir_, &readable)) {
    struct stat info;
    const std::string path = absl::StrCat(crl_dir_, "/", name);
    if (stat(path.c_str(), &info) != 0) continue;
    parts.push_back(absl::StrCat(name, ":", info.st_size, ":",
                                 info.st_mtim.tv_sec, ".", info.st_mtim.tv_nsec,
                                 ":", info.st_ino));
  }
  return absl::StrJoin(parts, "/");
}

void RevocationList::Poll() {
  const std::string state = DirectoryState();
  {
    absl::MutexLock lock(&mu_);
    if (state == directory_state_ &&
        absl::Now() - read_at_ < kRevocationRereadInterval) {
      return;
    }
  }
  if (absl::Status status = Reread(); !status.ok()) {
    LogWarning(
        "revocation", "CRLs refused, the last good ones stay in force",
        {{"crl_dir", crl_dir_}, {"reason", std::string(status.message())}});
  }
}

absl::Status RevocationList::Reread() {
  const std::string state = DirectoryState();
  absl::StatusOr<RevokedCertificates> list =
      ReadRevocations(crl_dir_, ca_file_, field_);
  absl::MutexLock lock(&mu_);
  read_at_ = absl::Now();
  directory_state_ = state;
  if (!list.ok()) return list.status();
  WarnIfExpiring(*list);
  current_ = std::make_shared<const RevokedCertificates>(*std::move(list));
  return absl::OkStatus();
}

void RevocationList::WarnIfExpiring(const RevokedCertificates& list) {
  const absl::Time now = absl::Now();
  if (list.next_update - now > kRevocationExpiryWarning) return;
  if (now - warned_at_ < absl::Hours(1) && list.next_update > now) return;
  warned_at_ = now;
  if (list.next_update <= now) {
    LogWarning("revocation",
               "CRLs expired; they are still enforced: renew them "
               "(certs/README.md)",
               {{"crl_dir", crl_dir_},
                {"next_update", absl::FormatTime(list.next_update)}});
  } else {
    LogWarning("revocation", "CRLs expire soon: renew them (certs/README.md)",
               {{"crl_dir", crl_dir_},
                {"next_update", absl::FormatTime(list.next_update)}});
  }
}

absl::Status RevocationList::CheckCertificate(absl::string_view pem) const {
  std::string key;
  std::shared_ptr<const RevokedCertificates> current;
  {
    absl::MutexLock lock(&mu_);
    current = current_;
    auto cached = keys_.find(pem);
    if (cached != keys_.end()) key = cached->second;
  }
  if (key.empty()) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    if (cert == nullptr) {
      return absl::UnauthenticatedError("the peer presented no certificate");
    }
    key = RevocationKey(X509_get_issuer_name(cert.get()),
                        X509_get0_serialNumber(cert.get()));
    absl::MutexLock lock(&mu_);
    if (keys_.size() >= kMaxCachedKeys) keys_.clear();
    keys_.emplace(pem, key);
  }
  if (!current->revoked.contains(key)) return absl::OkStatus();
  return absl::UnauthenticatedError(absl::StrCat(
      "certificate serial ", key.substr(key.rfind('/') + 1), " is revoked"));
}

absl::Time RevocationList::next_update() const {
  absl::MutexLock lock(&mu_);
  return current_->next_update;
}

}  // namespace deconfliction
