#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/digest.h"
#include "base/untrusted_text.h"
#include "cryptopp/keccak.h"
#include "identifiers/text.h"
#include "identifiers/type_rules.h"

namespace deconfliction::type_rules {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr absl::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

// Decodes Base58 (Bitcoin alphabet); false on a character outside it.
bool Base58Decode(absl::string_view text, Bytes* out) {
  Bytes number;  // big-endian, grows as digits are folded in
  for (char c : text) {
    size_t digit = kBase58Alphabet.find(c);
    if (digit == absl::string_view::npos) return false;
    uint32_t carry = static_cast<uint32_t>(digit);
    for (auto it = number.rbegin(); it != number.rend(); ++it) {
      carry += static_cast<uint32_t>(*it) * 58;
      *it = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      number.insert(number.begin(), static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  size_t leading_zeros = 0;
  while (leading_zeros < text.size() && text[leading_zeros] == '1') {
    ++leading_zeros;
  }
  out->assign(leading_zeros, 0);
  out->insert(out->end(), number.begin(), number.end());
  return true;
}

// Base58Check: payload followed by the first 4 bytes of SHA-256(SHA-256(
// payload)). Returns the payload, or the reason it is not valid.
absl::StatusOr<Bytes> Base58CheckDecode(absl::string_view text) {
  Bytes decoded;
  if (!Base58Decode(text, &decoded)) {
    return absl::InvalidArgumentError(
        "not Base58 (character outside its "
        "alphabet)");
  }
  if (decoded.size() < 5) return absl::InvalidArgumentError("too short");
  Bytes payload(decoded.begin(), decoded.end() - 4);
  const std::string twice = Sha256(Sha256(absl::string_view(
      reinterpret_cast<const char*>(payload.data()), payload.size())));
  if (!std::equal(
          twice.begin(), twice.begin() + 4, decoded.end() - 4,
          [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; })) {
    return absl::InvalidArgumentError("Base58Check checksum does not match");
  }
  return payload;
}

constexpr absl::string_view kBech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr uint32_t kBech32Constant = 1;
constexpr uint32_t kBech32mConstant = 0x2bc830a3;

uint32_t Bech32Polymod(const Bytes& values) {
  constexpr uint32_t kGenerator[] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa,
                                     0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (uint8_t value : values) {
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ value;
    for (int i = 0; i < 5; ++i) {
      if ((top >> i) & 1) chk ^= kGenerator[i];
    }
  }
  return chk;
}

// A SegWit address (BIP 173 / BIP 350) for human-readable part `hrp`.
// `text` is already lower case.
absl::Status CheckSegwit(absl::string_view text, absl::string_view hrp) {
  size_t separator = text.rfind('1');
  if (separator != hrp.size() || text.substr(0, separator) != hrp) {
    return absl::InvalidArgumentError(
        absl::StrCat("SegWit address must start with ", hrp, "1"));
  }
  if (text.size() > 90) return absl::InvalidArgumentError("too long");
  Bytes data;
  for (char c : text.substr(separator + 1)) {
    size_t value = kBech32Charset.find(c);
    if (value == absl::string_view::npos) {
      return absl::InvalidArgumentError("character outside bech32's alphabet");
    }
    data.push_back(static_cast<uint8_t>(value));
  }
  if (data.size() < 7) return absl::InvalidArgumentError("too short");
  Bytes checked;
  for (char c : hrp) checked.push_back(static_cast<uint8_t>(c) >> 5);
  checked.push_back(0);
  for (char c : hrp) checked.push_back(static_cast<uint8_t>(c) & 31);
  checked.insert(checked.end(), data.begin(), data.end());
  const uint8_t version = data[0];
  const uint32_t expected = version == 0 ? kBech32Constant : kBech32mConstant;
  if (version > 16 || Bech32Polymod(checked) != expected) {
    return absl::InvalidArgumentError(version == 0
                                          ? "bech32 checksum does not match"
                                          : "bech32m checksum does not match");
  }
  // Regroup the 5-bit program (between version and checksum) into bytes.
  uint32_t accumulator = 0;
  int bits = 0;
  size_t program_bytes = 0;
  for (size_t i = 1; i + 6 < data.size(); ++i) {
    accumulator = (accumulator << 5) | data[i];
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      ++program_bytes;
    }
  }
  if (bits >= 5 || (accumulator & ((1u << bits) - 1)) != 0) {
    return absl::InvalidArgumentError("witness program has invalid padding");
  }
  if (program_bytes < 2 || program_bytes > 40 ||
      (version == 0 && program_bytes != 20 && program_bytes != 32)) {
    return absl::InvalidArgumentError("witness program has an invalid length");
  }
  return absl::OkStatus();
}

struct Base58Chain {
  const char* name;
  const char* canonical;
  std::vector<uint8_t> versions;  // accepted Base58Check version bytes
  const char* segwit_hrp;         // nullptr: no SegWit addresses
};

const std::vector<Base58Chain>& Base58Chains() {
  static const auto* chains = new std::vector<Base58Chain>{
      {"btc", "btc", {0x00, 0x05}, "bc"},
      {"bitcoin", "btc", {0x00, 0x05}, "bc"},
      {"ltc", "ltc", {0x30, 0x32, 0x05}, "ltc"},
      {"litecoin", "ltc", {0x30, 0x32, 0x05}, "ltc"},
      {"doge", "doge", {0x1e, 0x16}, nullptr},
      {"dogecoin", "doge", {0x1e, 0x16}, nullptr},
      {"trx", "trx", {0x41}, nullptr},
      {"tron", "trx", {0x41}, nullptr},
  };
  return *chains;
}

absl::StatusOr<std::string> Base58ChainAddress(const Base58Chain& chain,
                                               absl::string_view address) {
  if (chain.segwit_hrp != nullptr) {
    std::string lower = absl::AsciiStrToLower(address);
    if (absl::StartsWith(lower, absl::StrCat(chain.segwit_hrp, "1"))) {
      if (lower != address && absl::AsciiStrToUpper(address) != address) {
        return absl::InvalidArgumentError(
            "mixed case is not allowed in a bech32 address");
      }
      if (absl::Status status = CheckSegwit(lower, chain.segwit_hrp);
          !status.ok()) {
        return status;
      }
      return absl::StrCat(chain.canonical, ":", lower);
    }
  }
  absl::StatusOr<Bytes> payload = Base58CheckDecode(address);
  if (!payload.ok()) return payload.status();
  if (payload->size() != 21 ||
      std::find(chain.versions.begin(), chain.versions.end(), (*payload)[0]) ==
          chain.versions.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a ", chain.canonical,
                     " address (wrong version byte "
                     "or length)"));
  }
  // Base58 is case-sensitive: the address is kept exactly.
  return absl::StrCat(chain.canonical, ":", address);
}

absl::StatusOr<std::string> EthereumAddress(absl::string_view address) {
  if (!absl::StartsWith(address, "0x") && !absl::StartsWith(address, "0X")) {
    return absl::InvalidArgumentError("must start with 0x");
  }
  std::string hex(address.substr(2));
  if (hex.size() != 40 || !text::AllHex(hex)) {
    return absl::InvalidArgumentError("expected 0x and 40 hex digits");
  }
  std::string lower = absl::AsciiStrToLower(hex);
  if (hex != lower && hex != absl::AsciiStrToUpper(hex)) {
    // Mixed case carries an EIP-55 checksum: the i-th letter is upper case
    // exactly when the i-th nibble of Keccak-256(lower-case hex) is >= 8.
    CryptoPP::Keccak_256 keccak;
    std::array<uint8_t, 32> digest{};
    keccak.CalculateDigest(digest.data(),
                           reinterpret_cast<const uint8_t*>(lower.data()),
                           lower.size());
    for (size_t i = 0; i < hex.size(); ++i) {
      if (!absl::ascii_isalpha(static_cast<unsigned char>(hex[i]))) continue;
      int nibble = (digest[i / 2] >> (i % 2 == 0 ? 4 : 0)) & 0xf;
      bool upper = absl::ascii_isupper(static_cast<unsigned char>(hex[i]));
      if (upper != (nibble >= 8)) {
        return absl::InvalidArgumentError(
            "EIP-55 mixed-case checksum does not match");
      }
    }
  }
  return absl::StrCat("eth:0x", lower);
}

absl::StatusOr<std::string> SolanaAddress(absl::string_view address) {
  Bytes key;
  if (!Base58Decode(address, &key) || key.size() != 32) {
    return absl::InvalidArgumentError("expected a Base58 32-byte public key");
  }
  return absl::StrCat("sol:", address);
}

}  // namespace

absl::StatusOr<std::string> CryptoAddress(absl::string_view value) {
  absl::StatusOr<text::Qualified> parts =
      text::SplitQualified(value, "chain:address", "btc:bc1q..., eth:0x...");
  if (!parts.ok()) return parts.status();
  std::string chain = absl::AsciiStrToLower(parts->qualifier);
  absl::string_view address = parts->rest;
  if (address.empty()) return absl::InvalidArgumentError("address is empty");
  for (const Base58Chain& known : Base58Chains()) {
    if (chain == known.name) return Base58ChainAddress(known, address);
  }
  if (chain == "eth" || chain == "ethereum") return EthereumAddress(address);
  if (chain == "sol" || chain == "solana") return SolanaAddress(address);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown chain \"", EchoForError(chain),
                   "\"; supported: btc, ltc, doge, trx, eth, sol"));
}

}  // namespace deconfliction::type_rules
