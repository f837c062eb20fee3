#include "base/digest.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

namespace deconfliction {

std::string Sha256(absl::string_view bytes) {
  std::string digest(32, '\0');
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(),
             reinterpret_cast<unsigned char*>(digest.data()), &length,
             EVP_sha256(), nullptr);
  return digest;
}

HmacSha256::HmacSha256(absl::string_view key) {
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac == nullptr) return;
  keyed_ = EVP_MAC_CTX_new(hmac);
  EVP_MAC_free(hmac);
  if (keyed_ == nullptr) return;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(keyed_, reinterpret_cast<const unsigned char*>(key.data()),
                   key.size(), params) != 1) {
    EVP_MAC_CTX_free(keyed_);
    keyed_ = nullptr;
  }
}

HmacSha256::~HmacSha256() { EVP_MAC_CTX_free(keyed_); }

std::string HmacSha256::Mac(absl::string_view bytes) {
  if (keyed_ == nullptr) return "";
  std::string mac(32, '\0');
  size_t length = 0;
  // An init without a key starts a new message under the same key.
  if (EVP_MAC_init(keyed_, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(keyed_,
                     reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size()) != 1 ||
      EVP_MAC_final(keyed_, reinterpret_cast<unsigned char*>(mac.data()),
                    &length, mac.size()) != 1 ||
      length != mac.size()) {
    return "";
  }
  return mac;
}

std::string RandomBytes(size_t size) {
  std::string bytes(size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()),
                 static_cast<int>(size)) != 1) {
    return "";
  }
  return bytes;
}

}  // namespace deconfliction
