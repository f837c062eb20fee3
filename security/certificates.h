// Reading PEM certificates with OpenSSL, for the security component's own
// checks (tls.cc, revocation.cc). Not visible outside security/.
#ifndef DECONFLICTION_SECURITY_CERTIFICATES_H_
#define DECONFLICTION_SECURITY_CERTIFICATES_H_

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace deconfliction {

struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

// Every PEM certificate in the file at `path`, in order; empty when it
// cannot be read or holds none.
std::vector<X509Ptr> ReadCertificates(const std::string& path);

// `time` as an absl::Time; InfiniteFuture when it is missing or malformed.
absl::Time TimeOf(const ASN1_TIME* time);

}  // namespace deconfliction

#endif  // DECONFLICTION_SECURITY_CERTIFICATES_H_
