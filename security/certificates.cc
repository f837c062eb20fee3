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

}  // namespace deconfliction
