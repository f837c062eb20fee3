#include "identifiers/token.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace deconfliction {
namespace {

constexpr absl::string_view kDomain("deconfliction.v1/token\0", 23);

void AppendBigEndian32(uint32_t value, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<HmacTokenFunction>> HmacTokenFunction::FromKey(
    absl::string_view key) {
  if (key.size() < kMinKeyBytes || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("federation key has ", key.size(), " bytes; expected ",
                     kMinKeyBytes, " to ", kMaxKeyBytes));
  }
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return absl::InternalError("OpenSSL has no HMAC");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context holds its own reference
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  if (ctx == nullptr ||
      EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()),
                   key.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return absl::InternalError("OpenSSL could not key HMAC-SHA-256");
  }
  return std::unique_ptr<HmacTokenFunction>(new HmacTokenFunction(ctx));
}

absl::StatusOr<std::unique_ptr<HmacTokenFunction>>
HmacTokenFunction::FromKeyFile(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("federation key file ", path, ": cannot be read"));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("federation key file ", path, ": not a regular file"));
  }
  if ((info.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "federation key file ", path,
        ": readable or writable by group or others (chmod 600 it)"));
  }
  std::ifstream in(path, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return absl::FailedPreconditionError(
        absl::StrCat("federation key file ", path, ": cannot be read"));
  }
  absl::StatusOr<std::unique_ptr<HmacTokenFunction>> function = FromKey(key);
  std::fill(key.begin(), key.end(), '\0');
  if (!function.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": ", function.status().message()));
  }
  return function;
}

HmacTokenFunction::~HmacTokenFunction() { EVP_MAC_CTX_free(keyed_); }

std::string HmacTokenFunction::Tokenize(
    const CanonicalIdentifier& identifier) const {
  std::string message(kDomain);
  AppendBigEndian32(static_cast<uint32_t>(identifier.type), &message);
  AppendBigEndian32(static_cast<uint32_t>(identifier.form.size()), &message);
  message += identifier.form;
  std::string token(kTokenBytes, '\0');
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(keyed_);
  size_t length = 0;
  // With a keyed context and a fixed-size digest these cannot fail short of
  // memory exhaustion, which aborts elsewhere too.
  EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(message.data()),
                 message.size());
  EVP_MAC_final(ctx, reinterpret_cast<unsigned char*>(token.data()), &length,
                token.size());
  EVP_MAC_CTX_free(ctx);
  return token;
}

}  // namespace deconfliction
