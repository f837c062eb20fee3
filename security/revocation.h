// Certificate revocation, checked by this project rather than inside the TLS
// handshake: OpenSSL's CRL directory lookup caches a CRL once read, so a
// certificate revoked while a server runs would be refused only after a
// restart, and an expired CRL would fail every handshake.
//
// A RevocationList holds the CRLs of a `tls.crl_dir`, each verified against
// the federation CA (`tls.ca_file`). Servers check the peer of every call
// against the current list (security/authorization.h); clients check the
// server at each handshake (security/tls.h). A list expired past its
// nextUpdate is still enforced (failing open would accept the revoked, and
// failing closed would stop the federation) and is warned about loudly.
//
// Thread-safe. Watched lists are shared per process: one per directory.
#ifndef DECONFLICTION_SECURITY_REVOCATION_H_
#define DECONFLICTION_SECURITY_REVOCATION_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"

namespace deconfliction {

class Periodic;

// How often a watched directory is looked at for changes, and the longest a
// list goes without being re-read whether or not anything changed.
inline constexpr absl::Duration kRevocationPollInterval = absl::Seconds(5);
inline constexpr absl::Duration kRevocationRereadInterval = absl::Seconds(60);
// A list whose nextUpdate is nearer than this is warned about.
inline constexpr absl::Duration kRevocationExpiryWarning = absl::Hours(24 * 7);

// What the CRLs of one directory revoke, read once.
struct RevokedCertificates {
  // Issuer (DER) and serial (hex) of every revoked certificate.
  absl::flat_hash_set<std::string> revoked;
  // The earliest nextUpdate among the CRLs (absl::InfiniteFuture() if none
  // states one), and how many CRLs were read.
  absl::Time next_update = absl::InfiniteFuture();
  int crls = 0;
};

// Reads every file in `crl_dir` whose name does not start with '.' (PEM,
// possibly several CRLs per file, or DER). FAILED_PRECONDITION naming
// `field`.crl_dir when the directory cannot be read, holds no CRL, holds a file
// that is not a CRL, or a CRL that no CA of `ca_file` issued and signed.
absl::StatusOr<RevokedCertificates> ReadRevocations(const std::string& crl_dir,
                                                    const std::string& ca_file,
                                                    absl::string_view field);

class RevocationList {
 public:
  // The list for `files`.crl_dir, read now (ReadRevocations' errors) and
  // then watched: re-read within kRevocationPollInterval of a change to the
  // directory and at least every kRevocationRereadInterval. A re-read that
  // fails keeps the last good list in force and says why in the log, as does
  // a list that expires within kRevocationExpiryWarning. Every caller in the
  // process naming the same directory shares one list, re-read first if
  // the directory has changed. nullptr when `files`
  // names no crl_dir.
  static absl::StatusOr<std::shared_ptr<RevocationList>> Watch(
      const config::v1::TlsFiles& files, absl::string_view field);

  ~RevocationList();
  RevocationList(const RevocationList&) = delete;
  RevocationList& operator=(const RevocationList&) = delete;

  // OK unless the certificate in `pem` (one PEM certificate) is revoked:
  // UNAUTHENTICATED naming its serial. UNAUTHENTICATED too when `pem` holds
  // no certificate.
  absl::Status CheckCertificate(absl::string_view pem) const;

  // The current list's earliest nextUpdate.
  absl::Time next_update() const;

  // Re-reads the directory now; on failure the last good list stays in
  // force and the error is returned.
  absl::Status Reread();

 private:
  RevocationList(std::string crl_dir, std::string ca_file, std::string field,
                 RevokedCertificates current);
  void Poll();
  std::string DirectoryState() const;
  void WarnIfExpiring(const RevokedCertificates& list)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string crl_dir_;
  const std::string ca_file_;
  const std::string field_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const RevokedCertificates> current_ ABSL_GUARDED_BY(mu_);
  std::string directory_state_ ABSL_GUARDED_BY(mu_);
  absl::Time read_at_ ABSL_GUARDED_BY(mu_);
  absl::Time warned_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Issuer and serial by certificate PEM: a connection's calls all present
  // the same certificate, parsed once.
  mutable absl::flat_hash_map<std::string, std::string> keys_
      ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Periodic> poller_;  // last: stops first
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SECURITY_REVOCATION_H_
