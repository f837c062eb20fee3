#include "security/tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

// Accepts only a server presenting the expected SPIFFE ID. Runs after gRPC
// has verified the chain against the federation CA.
class SpiffeIdVerifier final : public ExternalCertificateVerifier {
 public:
  explicit SpiffeIdVerifier(std::string expected)
      : expected_(std::move(expected)) {}

  bool Verify(TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/,
              grpc::Status* sync_status) override {
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
};

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
  if (!files.crl_dir().empty()) {
    struct stat info;
    if (stat(files.crl_dir().c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(
          field, ".crl_dir: ", files.crl_dir(), " is not a directory"));
    }
  }
  absl::StatusOr<std::string> id = CertificateSpiffeId(files.cert_file());
  if (!id.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ".cert_file: ", id.status().message()));
  }
  return absl::OkStatus();
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
  if (!files.crl_dir().empty()) options.set_crl_directory(files.crl_dir());
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MutualTlsChannelCredentials(const config::v1::TlsFiles& files,
                            absl::string_view field,
                            const std::string& expected_server_id) {
  if (absl::Status status = CheckTlsFiles(files, field); !status.ok()) {
    return status;
  }
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
          expected_server_id));
  if (!files.crl_dir().empty()) options.set_crl_directory(files.crl_dir());
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace deconfliction
