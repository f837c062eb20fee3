// Mutual-TLS credentials for every program of the federation, built on
// gRPC's own TLS providers: certificate files are watched and reloaded (so
// certificates rotate without a restart), and peers are verified against the
// federation CA. Revocation (tls.crl_dir) is checked by security/
// revocation.h: by clients at each handshake, by servers on every call
// (FederationServerCredentials). There is no plaintext variant.
#ifndef DECONFLICTION_SECURITY_TLS_H_
#define DECONFLICTION_SECURITY_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"

namespace deconfliction {

// How often watched certificate files are re-read, seconds.
inline constexpr unsigned int kCertificateRefreshSeconds = 60;

// FAILED_PRECONDITION naming `field`.cert_file/key_file/ca_file/crl_dir when
// a file is missing or unreadable; the key is world-readable or is not the
// certificate's; the certificate cannot be parsed or has no single SPIFFE
// ID; ca_file holds a certificate that is not a CA's; or crl_dir, when set,
// is not a directory of CRLs that ca_file's CAs signed (ReadRevocations).
// UNAUTHENTICATED naming `field`.cert_file when no peer would accept the
// certificate: outside its validity dates, or not chaining to a CA
// certificate of ca_file.
absl::Status CheckTlsFiles(const config::v1::TlsFiles& files,
                           absl::string_view field);

// CheckTlsFiles, and that the certificate names `own_id`, the server's own
// SPIFFE ID (FAILED_PRECONDITION naming both otherwise): what a server
// checks of its files at start, on every change, and for --check_config.
absl::Status CheckOwnTlsFiles(const config::v1::TlsFiles& files,
                              absl::string_view own_id,
                              absl::string_view field);

// When the first certificate of `pem_path` to expire does (its notAfter):
// of a certificate file, the served certificate (and its chain); of a CA
// file, the earliest CA. FAILED_PRECONDITION when it holds no certificate.
absl::StatusOr<absl::Time> EarliestExpiry(const std::string& pem_path);

// The single spiffe:// URI SAN of the leaf certificate in `pem_path`.
// FAILED_PRECONDITION when it has none or several.
absl::StatusOr<std::string> CertificateSpiffeId(const std::string& pem_path);

// Server side: requires a client certificate chaining to ca_file; checks no
// revocation itself (FederationServerCredentials adds that per call).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MutualTlsServerCredentials(const config::v1::TlsFiles& files,
                           absl::string_view field);

// Client side: presents cert_file, verifies the server's chain against
// ca_file and accepts only a server whose certificate's SPIFFE ID is
// `expected_server_id` (host names are not used: the identity is) and that
// crl_dir's current list does not revoke.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MutualTlsChannelCredentials(const config::v1::TlsFiles& files,
                            absl::string_view field,
                            const std::string& expected_server_id);

}  // namespace deconfliction

#endif  // DECONFLICTION_SECURITY_TLS_H_
