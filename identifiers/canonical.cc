#include "identifiers/canonical.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/untrusted_text.h"
#include "google/protobuf/util/time_util.h"
#include "identifiers/type_rules.h"

namespace deconfliction {
namespace {

constexpr size_t kMaxValueBytes = 1024;

struct TypeAlias {
  const char* name;
  v1::IdentifierType type;
};

constexpr TypeAlias kAliases[] = {
    {"ip", v1::IDENTIFIER_TYPE_IP_ADDRESS},
    {"crypto", v1::IDENTIFIER_TYPE_CRYPTO_ADDRESS},
    {"hash", v1::IDENTIFIER_TYPE_FILE_HASH},
    {"mac", v1::IDENTIFIER_TYPE_MAC_ADDRESS},
    {"p2p", v1::IDENTIFIER_TYPE_P2P_GUID},
    {"plate", v1::IDENTIFIER_TYPE_VEHICLE_PLATE},
};

absl::StatusOr<std::string> CanonicalForm(v1::IdentifierType type,
                                          absl::string_view value,
                                          const CanonicalizeOptions& options) {
  switch (type) {
    case v1::IDENTIFIER_TYPE_PHONE:
      return type_rules::Phone(value, options.default_region);
    case v1::IDENTIFIER_TYPE_EMAIL:
      return type_rules::Email(value);
    case v1::IDENTIFIER_TYPE_IP_ADDRESS:
      return type_rules::IpAddress(value);
    case v1::IDENTIFIER_TYPE_USERNAME:
      return type_rules::Username(value);
    case v1::IDENTIFIER_TYPE_CRYPTO_ADDRESS:
      return type_rules::CryptoAddress(value);
    case v1::IDENTIFIER_TYPE_FILE_HASH:
      return type_rules::FileHash(value);
    case v1::IDENTIFIER_TYPE_IMEI:
      return type_rules::Imei(value);
    case v1::IDENTIFIER_TYPE_MAC_ADDRESS:
      return type_rules::MacAddress(value);
    case v1::IDENTIFIER_TYPE_P2P_GUID:
      return type_rules::P2pGuid(value);
    case v1::IDENTIFIER_TYPE_PERSON:
      return type_rules::Person(value);
    case v1::IDENTIFIER_TYPE_VEHICLE_PLATE:
      return type_rules::VehiclePlate(value);
    default:
      return absl::InvalidArgumentError("type is not set or not known");
  }
}

absl::Status CheckWindow(const v1::Identifier& identifier) {
  const v1::TimeWindow& window = identifier.observed();
  for (const auto* bound : {&window.start(), &window.end()}) {
    // The range of google.protobuf.Timestamp: 0001-01-01 to 9999-12-31.
    if (bound->seconds() < -62135596800 || bound->seconds() > 253402300799 ||
        bound->nanos() < 0 || bound->nanos() > 999999999) {
      return absl::InvalidArgumentError("observed: timestamp out of range");
    }
  }
  if (!IsTimeBound(identifier.type())) return absl::OkStatus();
  if (!identifier.has_observed() ||
      (!window.has_start() && !window.has_end())) {
    return absl::InvalidArgumentError(
        "observed: required for this type (it identifies someone only at a "
        "time)");
  }
  if (window.has_start() && window.has_end() && window.end() < window.start()) {
    return absl::InvalidArgumentError("observed: end is before start");
  }
  return absl::OkStatus();
}

}  // namespace

std::string IdentifierTypeName(v1::IdentifierType type) {
  std::string name = v1::IdentifierType_Name(type);
  if (name.empty()) return absl::StrCat("TYPE_", static_cast<int>(type));
  constexpr absl::string_view kPrefix = "IDENTIFIER_TYPE_";
  if (absl::StartsWith(name, kPrefix)) name = name.substr(kPrefix.size());
  return name;
}

absl::StatusOr<v1::IdentifierType> ParseIdentifierType(absl::string_view name) {
  std::string upper = absl::AsciiStrToUpper(name);
  v1::IdentifierType type;
  if (v1::IdentifierType_Parse(upper, &type) ||
      v1::IdentifierType_Parse(absl::StrCat("IDENTIFIER_TYPE_", upper),
                               &type)) {
    if (type != v1::IDENTIFIER_TYPE_UNSPECIFIED) return type;
  }
  std::string lower = absl::AsciiStrToLower(name);
  for (const TypeAlias& alias : kAliases) {
    if (lower == alias.name) return alias.type;
  }
  std::vector<std::string> accepted;
  for (int i = v1::IdentifierType_MIN + 1; i <= v1::IdentifierType_MAX; ++i) {
    if (v1::IdentifierType_IsValid(i)) {
      accepted.push_back(absl::AsciiStrToLower(
          IdentifierTypeName(static_cast<v1::IdentifierType>(i))));
    }
  }
  for (const TypeAlias& alias : kAliases) accepted.push_back(alias.name);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown identifier type \"", EchoForError(name),
                   "\"; expected one of: ", absl::StrJoin(accepted, ", ")));
}

bool IsTimeBound(v1::IdentifierType type) {
  return type == v1::IDENTIFIER_TYPE_IP_ADDRESS ||
         type == v1::IDENTIFIER_TYPE_P2P_GUID;
}

bool WindowsOverlap(const v1::TimeWindow& a, const v1::TimeWindow& b) {
  // [a.start, a.end] and [b.start, b.end] overlap unless one ends before the
  // other starts.
  if (a.has_end() && b.has_start() && a.end() < b.start()) return false;
  if (b.has_end() && a.has_start() && b.end() < a.start()) return false;
  return true;
}

absl::StatusOr<CanonicalIdentifier> Canonicalize(
    const v1::Identifier& identifier, const CanonicalizeOptions& options) {
  const std::string type_name = IdentifierTypeName(identifier.type());
  auto fail = [&](const absl::Status& status) {
    return absl::InvalidArgumentError(
        absl::StrCat(type_name, " \"", EchoForError(identifier.value()),
                     "\": ", status.message()));
  };
  if (identifier.value().size() > kMaxValueBytes) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("longer than ", kMaxValueBytes, " bytes")));
  }
  if (absl::Status window = CheckWindow(identifier); !window.ok()) {
    return fail(window);
  }
  absl::StatusOr<std::string> form =
      CanonicalForm(identifier.type(), identifier.value(), options);
  if (!form.ok()) return fail(form.status());
  return CanonicalIdentifier{identifier.type(), *std::move(form)};
}

}  // namespace deconfliction
