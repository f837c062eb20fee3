#include "storage/keys.h"

#include "absl/strings/str_cat.h"

namespace deconfliction::keys {

absl::Status ValidateCaseRef(absl::string_view case_ref) {
  if (case_ref.empty()) return absl::InvalidArgumentError("case_ref: empty");
  if (case_ref.size() > 128) {
    return absl::InvalidArgumentError("case_ref: longer than 128 characters");
  }
  for (char c : case_ref) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          "case_ref: only printable ASCII without spaces is allowed");
    }
  }
  return absl::OkStatus();
}

std::string EncodeUint64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

std::optional<uint64_t> DecodeUint64(absl::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  uint64_t value = 0;
  for (char c : bytes) value = (value << 8) | static_cast<uint8_t>(c);
  return value;
}

std::string EntryPrefix(absl::string_view case_ref) {
  return absl::StrCat(case_ref, absl::string_view("\0", 1));
}

std::string EntryKey(absl::string_view case_ref, uint64_t entry_seq) {
  return absl::StrCat(EntryPrefix(case_ref), EncodeUint64(entry_seq));
}

std::optional<EntryKeyParts> DecodeEntryKey(absl::string_view key) {
  if (key.size() < 10 || key[key.size() - 9] != '\0') return std::nullopt;
  absl::string_view case_ref = key.substr(0, key.size() - 9);
  if (!ValidateCaseRef(case_ref).ok()) return std::nullopt;
  return EntryKeyParts{std::string(case_ref),
                       *DecodeUint64(key.substr(key.size() - 8))};
}

std::string AlertKey(uint64_t cursor) {
  return absl::StrCat(kAlertPrefix, EncodeUint64(cursor));
}

std::string AlertIdKey(absl::string_view alert_id) {
  return absl::StrCat("i", alert_id);
}

std::optional<uint64_t> DecodeAlertKey(absl::string_view key) {
  if (key.size() != 9 || key[0] != kAlertPrefix[0]) return std::nullopt;
  return DecodeUint64(key.substr(1));
}

std::string AlertGroupDayStart(absl::string_view day) {
  return absl::StrCat(kAlertGroupPrefix, day, absl::string_view("\0", 1));
}

std::string AlertGroupKey(absl::string_view day, absl::string_view asker,
                          absl::string_view case_ref) {
  return absl::StrCat(AlertGroupDayStart(day), asker,
                      absl::string_view("\0", 1), case_ref);
}

std::string QueuePrefix(absl::string_view agency) {
  return absl::StrCat(agency, absl::string_view("\0", 1));
}

std::string QueueKey(absl::string_view agency, uint64_t seq) {
  return absl::StrCat(QueuePrefix(agency), EncodeUint64(seq));
}

std::string DeliveredKey(absl::string_view agency, uint64_t cursor,
                         uint64_t seq) {
  return absl::StrCat(QueueKey(agency, cursor), EncodeUint64(seq));
}

std::string LastCursorKey(absl::string_view agency) {
  return absl::StrCat("last_cursor", absl::string_view("\0", 1), agency);
}

}  // namespace deconfliction::keys
