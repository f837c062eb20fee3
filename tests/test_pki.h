// A throw-away federation PKI for one test, made by certs/dev-pki.sh in the
// test's own temporary directory (no key is ever committed or shared).
#ifndef DECONFLICTION_TESTS_TEST_PKI_H_
#define DECONFLICTION_TESTS_TEST_PKI_H_

#include <grpcpp/security/credentials.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/deconfliction/config/v1/config.pb.h"

#ifndef DECONFLICTION_PKI_SCRIPT
#define DECONFLICTION_PKI_SCRIPT "certs/dev-pki.sh"  // Bazel runfiles path
#endif
#ifndef DECONFLICTION_KEYS_BINARY
#define DECONFLICTION_KEYS_BINARY "token_key/deconflict-keys"
#endif

namespace deconfliction {

class TestPki {
 public:
  // Creates a CA for `federation` in `dir`. Check ok() afterwards.
  TestPki(std::string dir, std::string federation)
      : dir_(std::move(dir)), federation_(std::move(federation)) {
    ok_ = Run(absl::StrCat("init ", dir_, " ", federation_));
  }

  bool ok() const { return ok_; }
  const std::string& dir() const { return dir_; }
  const std::string& federation() const { return federation_; }

  // Issue certificates; each returns false if the script failed.
  bool Hub() { return Run(absl::StrCat("hub ", dir_)); }
  bool Node(const std::string& agency) {
    return Run(absl::StrCat("node ", dir_, " ", agency));
  }
  bool User(const std::string& agency, const std::string& name) {
    return Run(absl::StrCat("user ", dir_, " ", agency, " ", name));
  }
  bool Custodian(const std::string& name) {
    return Run(absl::StrCat("custodian ", dir_, " ", name));
  }
  bool Revoke(const std::string& cert_name) {
    return Run(absl::StrCat("revoke ", dir_, " ", cert_name));
  }
  // Renews the CRL for `days` (0: it expires at once).
  bool RenewCrl(int days) { return Run(absl::StrCat("crl ", dir_, " ", days)); }
  // A certificate for refusal tests: any subjectAltName (`sans` as openssl
  // writes it, "" for none), valid from `start` to `end` (YYYYMMDDHHMMSSZ).
  bool Certificate(const std::string& name, const std::string& sans,
                   const std::string& start, const std::string& end) {
    return Run(absl::StrCat("cert ", dir_, " ", name, " '", sans, "' ", start,
                            " ", end));
  }
  // The token key's ceremony: `custodians` (space-separated names) share a
  // new key of `epoch`, any `threshold` of them making a token. Writes
  // TokenKeyDir()/<name>.share.textproto and token-key-bundle.textproto.
  bool TokenKey(const std::string& epoch, int threshold,
                const std::string& custodians) {
    return Run(absl::StrCat("token-key ", dir_, " ", epoch, " ", threshold, " ",
                            custodians));
  }
  std::string TokenKeyDir() const { return dir_ + "/token-key"; }

  // TLS files of a certificate issued above, e.g. "node-agency-a",
  // "user-agency-a-alice", "hub". With `with_crl`, the CRL directory too.
  config::v1::TlsFiles Files(const std::string& cert_name,
                             bool with_crl = false) const {
    config::v1::TlsFiles files;
    files.set_cert_file(absl::StrCat(dir_, "/", cert_name, ".pem"));
    files.set_key_file(absl::StrCat(dir_, "/", cert_name, ".key.pem"));
    files.set_ca_file(absl::StrCat(dir_, "/ca.pem"));
    if (with_crl) files.set_crl_dir(absl::StrCat(dir_, "/crl"));
    return files;
  }

 private:
  static bool Run(const std::string& args) {
    std::string command =
        absl::StrCat("DECONFLICT_KEYS=", DECONFLICTION_KEYS_BINARY, " bash ",
                     DECONFLICTION_PKI_SCRIPT, " ", args, " >/dev/null");
    return std::system(command.c_str()) == 0;
  }

  std::string dir_;
  std::string federation_;
  bool ok_ = false;
};

// gRPC's plain TLS credentials over `files` (with their ca_file as the
// roots, and host-name checks): a caller that this project's own
// credentials would refuse to be (a certificate of another CA, expired...),
// to test that servers refuse it too.
inline std::shared_ptr<grpc::ChannelCredentials> UncheckedTlsCredentials(
    const config::v1::TlsFiles& files) {
  auto contents = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = contents(files.ca_file());
  options.pem_private_key = contents(files.key_file());
  options.pem_cert_chain = contents(files.cert_file());
  return grpc::SslCredentials(options);
}

}  // namespace deconfliction

#endif  // DECONFLICTION_TESTS_TEST_PKI_H_
