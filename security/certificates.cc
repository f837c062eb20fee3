#include "security/certificates.h"

#include <openssl/pem.h>

#include <cstdio>

namespace deconfliction {

std::vector<X509Ptr> ReadCertificates(const std::string& path) {
  std::vector<X509Ptr> certs;
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return certs;
  while (X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  std::fclose(file);
  return certs;
}

absl::Time TimeOf(const ASN1_TIME* time) {
  int days = 0;
  int seconds = 0;
  if (time == nullptr || ASN1_TIME_diff(&days, &seconds, nullptr, time) != 1) {
    return absl::InfiniteFuture();
  }
  return absl::Now() + absl::Hours(24) * days + absl::Seconds(seconds);
}

}  // namespace deconfliction
