#include "base/digest.h"

#include <openssl/evp.h>

namespace deconfliction {

std::string Sha256(absl::string_view bytes) {
  std::string digest(32, '\0');
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(),
             reinterpret_cast<unsigned char*>(digest.data()), &length,
             EVP_sha256(), nullptr);
  return digest;
}

}  // namespace deconfliction
