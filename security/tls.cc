#include "security/tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "security/certificates.h"
#include "security/revocation.h"

namespace deconfliction {
namespace {

using grpc::experimental::ExternalCertificateVerifier;
using grpc::experimental::FileWatcherCertificateProvider;
using grpc::experimental::TlsCustomVerificationCheckRequest;

absl::Status CheckReadable(const std::string& path, absl::string_view field,
                           bool is_private_key) {
  if (path.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(field, ": required"));
  }
  struct stat info;
  if (stat(path.c_str(), &info) != 0 || access(path.c_str(), R_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": cannot read ", path));
  }
  if (is_private_key && (info.st_mode & S_IROTH) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        field, ": ", path, " is readable by anyone (chmod 600 it)"));
  }
  return absl::OkStatus();
}

// Accepts only a server presenting the expected SPIFFE ID, in a certificate
// that `revocations` (if any) does not revoke. Runs after gRPC has verified
// the chain against the federation CA.
class SpiffeIdVerifier final : public ExternalCertificateVerifier {
 public:
  SpiffeIdVerifier(std::string expected,
                   std::shared_ptr<const RevocationList> revocations)
      : expected_(std::move(expected)), revocations_(std::move(revocations)) {}

  bool Verify(TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/,
              grpc::Status* sync_status) override {
    if (revocations_ != nullptr) {
      const grpc::string_ref pem = request->peer_cert();
      absl::Status revoked = revocations_->CheckCertificate(
          absl::string_view(pem.data(), pem.size()));
      if (!revoked.ok()) {
        *sync_status = grpc::Status(
            grpc::StatusCode::UNAUTHENTICATED,
            absl::StrCat("server ", expected_, ": ", revoked.message()));
        return true;
      }
    }
    std::vector<std::string> seen;
    for (const grpc::string_ref& uri : request->uri_names()) {
      seen.emplace_back(uri.data(), uri.size());
      if (seen.back() == expected_) {
        *sync_status = grpc::Status::OK;
        return true;
      }
    }
    *sync_status =
        grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                     absl::StrCat("server identity ", absl::StrJoin(seen, ","),
                                  " is not the expected ", expected_));
    return true;
  }

  void Cancel(TlsCustomVerificationCheckRequest* /*request*/) override {}

 private:
  const std::string expected_;
  const std::shared_ptr<const RevocationList> revocations_;
};

std::string SubjectOf(const X509* cert) {
  char buffer[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buffer, sizeof(buffer));
  return buffer;
}

// The own certificate and key make a usable identity: the key is the
// certificate's, the certificate is within its validity dates and chains to
// a CA certificate of ca_file.
absl::Status CheckCertificateAndKey(const config::v1::TlsFiles& files,
                                    absl::string_view field) {
  auto failed = [&](absl::string_view name, absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ".", name, ": ", why));
  };
  // No peer would accept this certificate.
  auto refused = [&](absl::string_view why) {
    return absl::UnauthenticatedError(
        absl::StrCat(field, ".cert_file: ", files.cert_file(), why));
  };
  std::vector<X509Ptr> chain = ReadCertificates(files.cert_file());
  if (chain.empty()) {
    return failed("cert_file",
                  absl::StrCat(files.cert_file(), " holds no PEM certificate"));
  }
  X509* leaf = chain.front().get();
  FILE* key_file = std::fopen(files.key_file().c_str(), "r");
  EVP_PKEY* key = key_file == nullptr ? nullptr
                                      : PEM_read_PrivateKey(key_file, nullptr,
                                                            nullptr, nullptr);
  if (key_file != nullptr) std::fclose(key_file);
  if (key == nullptr) {
    return failed("key_file",
                  absl::StrCat(files.key_file(), " holds no PEM private key"));
  }
  const bool matches = X509_check_private_key(leaf, key) == 1;
  EVP_PKEY_free(key);
  if (!matches) {
    return failed("key_file",
                  absl::StrCat(files.key_file(), " is not the key of ",
                               files.cert_file()));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
    return refused(" has expired");
  }
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
    return refused(" is not valid yet");
  }
  std::vector<X509Ptr> cas = ReadCertificates(files.ca_file());
  if (cas.empty()) {
    return failed("ca_file",
                  absl::StrCat(files.ca_file(), " holds no PEM certificate"));
  }
  X509_STORE* store = X509_STORE_new();
  for (const X509Ptr& ca : cas) {
    if (X509_check_ca(ca.get()) == 0) {
      X509_STORE_free(store);
      return failed("ca_file", absl::StrCat(files.ca_file(), " holds ",
                                            SubjectOf(ca.get()),
                                            ", which is not a CA certificate"));
    }
    X509_STORE_add_cert(store, ca.get());
  }
  STACK_OF(X509)* intermediates = sk_X509_new_null();
  for (size_t i = 1; i < chain.size(); ++i) {
    sk_X509_push(intermediates, chain[i].get());
  }
  X509_STORE_CTX* context = X509_STORE_CTX_new();
  X509_STORE_CTX_init(context, store, leaf, intermediates);
  const bool chains = X509_verify_cert(context) == 1;
  const int error = X509_STORE_CTX_get_error(context);
  X509_STORE_CTX_free(context);
  sk_X509_free(intermediates);
  X509_STORE_free(store);
  if (!chains) {
    return refused(absl::StrCat(" does not chain to ", files.ca_file(), " (",
                                X509_verify_cert_error_string(error), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTlsFiles(const config::v1::TlsFiles& files,
                           absl::string_view field) {
  for (auto [path, name, is_key] :
       {std::make_tuple(&files.cert_file(), "cert_file", false),
        std::make_tuple(&files.key_file(), "key_file", true),
        std::make_tuple(&files.ca_file(), "ca_file", false)}) {
    absl::Status status =
        CheckReadable(*path, absl::StrCat(field, ".", name), is_key);
    if (!status.ok()) return status;
  }
  if (absl::Status status = CheckCertificateAndKey(files, field);
      !status.ok()) {
    return status;
  }
  if (!files.crl_dir().empty()) {
    absl::StatusOr<RevokedCertificates> revocations =
        ReadRevocations(files.crl_dir(), files.ca_file(), field);
    if (!revocations.ok()) return revocations.status();
  }
  absl::StatusOr<std::string> id = CertificateSpiffeId(files.cert_file());
  if (!id.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ".cert_file: ", id.status().message()));
  }
  return absl::OkStatus();
}

absl::Status CheckOwnTlsFiles(const config::v1::TlsFiles& files,
                              absl::string_view own_id,
                              absl::string_view field) {
  if (absl::Status s = CheckTlsFiles(files, field); !s.ok()) return s;
  absl::StatusOr<std::string> id = CertificateSpiffeId(files.cert_file());
  if (!id.ok()) return id.status();
  if (*id != own_id) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ".cert_file: certificate names ", *id,
                     " but this server is ", own_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> EarliestExpiry(const std::string& pem_path) {
  std::vector<X509Ptr> certs = ReadCertificates(pem_path);
  if (certs.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(pem_path, ": no certificate"));
  }
  absl::Time earliest = absl::InfiniteFuture();
  for (const X509Ptr& cert : certs) {
    earliest = std::min(earliest, TimeOf(X509_get0_notAfter(cert.get())));
  }
  return earliest;
}

absl::StatusOr<std::string> CertificateSpiffeId(const std::string& pem_path) {
  FILE* file = std::fopen(pem_path.c_str(), "r");
  if (file == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", pem_path));
  }
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (cert == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(pem_path, " holds no PEM certificate"));
  }
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::vector<std::string> ids;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    std::string value(reinterpret_cast<const char*>(uri->data), uri->length);
    if (absl::StartsWith(value, "spiffe://")) ids.push_back(value);
  }
  GENERAL_NAMES_free(names);
  X509_free(cert);
  if (ids.size() != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        pem_path, " must carry exactly one spiffe:// URI SAN; it has ",
        ids.size()));
  }
  return ids[0];
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MutualTlsServerCredentials(const config::v1::TlsFiles& files,
                           absl::string_view field) {
  if (absl::Status status = CheckTlsFiles(files, field); !status.ok()) {
    return status;
  }
  auto provider = std::make_shared<FileWatcherCertificateProvider>(
      files.key_file(), files.cert_file(), files.ca_file(),
      kCertificateRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MutualTlsChannelCredentials(const config::v1::TlsFiles& files,
                            absl::string_view field,
                            const std::string& expected_server_id) {
  if (absl::Status status = CheckTlsFiles(files, field); !status.ok()) {
    return status;
  }
  absl::StatusOr<std::shared_ptr<RevocationList>> revocations =
      RevocationList::Watch(files, field);
  if (!revocations.ok()) return revocations.status();
  auto provider = std::make_shared<FileWatcherCertificateProvider>(
      files.key_file(), files.cert_file(), files.ca_file(),
      kCertificateRefreshSeconds);
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  options.set_check_call_host(false);
  options.set_certificate_verifier(
      ExternalCertificateVerifier::Create<SpiffeIdVerifier>(
          expected_server_id, *std::move(revocations)));
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace deconfliction
