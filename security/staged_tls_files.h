// The certificate files a server serves with: checked copies of the
// configured ones, in a private directory of the server's own. gRPC's
// file watcher (security/tls.h) reads the copies, so a change to the
// configured files reaches the server only after it passes the same checks
// as at start (security/tls.h CheckTlsFiles: key of the certificate, chain
// to the CA, validity dates, one SPIFFE ID) and names the server's own
// identity. A change that fails them is refused, loudly, and the server
// keeps serving with the files it had: swapping in another agency's
// certificate, a key of another certificate or an expired certificate
// changes nothing.
//
// Thread-safe.
#ifndef DECONFLICTION_SECURITY_STAGED_TLS_FILES_H_
#define DECONFLICTION_SECURITY_STAGED_TLS_FILES_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"

namespace deconfliction {

class Periodic;

// How often the configured files are looked at for a change.
inline constexpr absl::Duration kTlsFilesPollInterval = absl::Seconds(5);

class StagedTlsFiles {
 public:
  // Checks `configured` (CheckTlsFiles, naming `field`) and that its
  // certificate names `own_id` (FAILED_PRECONDITION naming both), then
  // copies cert_file, key_file and ca_file into `staging_dir` (created mode
  // 700; the key's copy mode 600) and watches the configured files. The
  // staging directory is the server's alone; it is removed on destruction.
  static absl::StatusOr<std::unique_ptr<StagedTlsFiles>> Stage(
      const config::v1::TlsFiles& configured, const std::string& own_id,
      const std::string& staging_dir, absl::string_view field);

  ~StagedTlsFiles();
  StagedTlsFiles(const StagedTlsFiles&) = delete;
  StagedTlsFiles& operator=(const StagedTlsFiles&) = delete;

  // The files to serve with: the copies, and the configured crl_dir.
  const config::v1::TlsFiles& files() const { return staged_; }

  // Looks at the configured files now: OK when they are unchanged or their
  // change passed the checks and was copied; otherwise the check's error
  // (the old files stay in force). Also run every kTlsFilesPollInterval,
  // logging each refusal once.
  absl::Status Restage();

  // On SIGHUP: Restage, then re-read the CRLs of crl_dir (RevocationList::
  // Reread, for every user of the list in the process). The first error,
  // with the old files or list still in force.
  absl::Status Reload();

 private:
  StagedTlsFiles(config::v1::TlsFiles configured, std::string own_id,
                 std::string field, config::v1::TlsFiles staged);
  std::string ConfiguredState() const;
  absl::Status Check() const;
  absl::Status Copy() const;

  const config::v1::TlsFiles configured_;
  const std::string own_id_;
  const std::string field_;
  const config::v1::TlsFiles staged_;
  absl::Mutex mu_;
  std::string state_ ABSL_GUARDED_BY(mu_);  // of the files last copied
  std::unique_ptr<Periodic> poller_;        // last: stops first
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SECURITY_STAGED_TLS_FILES_H_
