// The key layout of every column family (storage/column_families.h), in one
// place. Integers are big-endian so that byte order is numeric order.
//
// clang-format off
// A node's database:
//   default (meta)    "schema_version" | "agency_id" | "next_entry_seq" |
//                     "next_alert_cursor" | "unacknowledged_alerts" |
//                     "token_epoch" | "retokenize_epoch" |
//                     "retokenize_cursor" (storage/token_migration.h) |
//                     "alert_recovery" (storage/node_database.h)
//   token_index       token (32 bytes)                    -> PostingList
//   cases             case_ref                            -> v1.Case (no entries)
//   entries           case_ref 0x00 entry_seq (uint64 BE) -> EntryRecord
//   alerts            'c' cursor (uint64 BE)              -> v1.Alert
//                     'g' day 0x00 asker 0x00 case_ref    -> cursor (uint64 BE)
//                     'i' alert_id                        -> cursor (uint64 BE)
//   federation_queue  seq (uint64 BE)                     -> PendingLookup
//   audit             seq (uint64 BE)                     -> AuditRecord
// The hub's database:
//   default (meta)    "next_outbox_seq" | "last_cursor" 0x00 agency
//   outbox            recipient 0x00 seq (uint64 BE)      -> OutboxRecord
//   delivered         recipient 0x00 cursor (uint64 BE)   -> DeliveredRecord
//   rechecks          agency 0x00 seq (uint64 BE)         -> RecheckRecord
//   set_aside         recipient 0x00 seq (uint64 BE)      -> OutboxRecord
//   audit             seq (uint64 BE)                     -> AuditRecord
// Every database's default (meta) family also holds "health_probe".
// clang-format on
//
// A case_ref is 1 to 128 printable ASCII bytes (ValidateCaseRef), so it holds
// no 0x00 and every entry key of a case sorts under EntryPrefix(case_ref).
#ifndef DECONFLICTION_STORAGE_KEYS_H_
#define DECONFLICTION_STORAGE_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace deconfliction::keys {

inline constexpr char kSchemaVersion[] = "schema_version";
inline constexpr char kAgencyId[] = "agency_id";
inline constexpr char kNextEntrySeq[] = "next_entry_seq";
inline constexpr char kNextAlertCursor[] = "next_alert_cursor";
inline constexpr char kUnacknowledgedAlerts[] = "unacknowledged_alerts";
inline constexpr char kNextOutboxSeq[] = "next_outbox_seq";
// Every database's: the time of the last health probe (Database::Probe).
inline constexpr char kHealthProbe[] = "health_probe";
inline constexpr char kTokenEpoch[] = "token_epoch";
inline constexpr char kRetokenizeEpoch[] = "retokenize_epoch";
inline constexpr char kRetokenizeCursor[] = "retokenize_cursor";
inline constexpr char kAlertRecovery[] = "alert_recovery";

// INVALID_ARGUMENT naming `case_ref` when it is empty, longer than 128 bytes
// or holds a byte outside printable ASCII (0x21-0x7e).
absl::Status ValidateCaseRef(absl::string_view case_ref);

std::string EncodeUint64(uint64_t value);
// nullopt unless `bytes` is exactly 8 bytes.
std::optional<uint64_t> DecodeUint64(absl::string_view bytes);

std::string EntryKey(absl::string_view case_ref, uint64_t entry_seq);
std::string EntryPrefix(absl::string_view case_ref);

struct EntryKeyParts {
  std::string case_ref;
  uint64_t entry_seq = 0;
};
// nullopt when `key` is not an EntryKey.
std::optional<EntryKeyParts> DecodeEntryKey(absl::string_view key);

std::string AlertKey(uint64_t cursor);
std::string AlertIdKey(absl::string_view alert_id);
// nullopt when `key` is not an AlertKey.
std::optional<uint64_t> DecodeAlertKey(absl::string_view key);
inline constexpr char kAlertPrefix[] = "c";
// The aggregation group of CHECKED alerts (storage/alert_log.h): `day` is
// "YYYY-MM-DD" (UTC), so that groups sort by day.
std::string AlertGroupKey(absl::string_view day, absl::string_view asker,
                          absl::string_view case_ref);
// The first key of `day`'s groups: every group of an earlier day sorts
// before it.
std::string AlertGroupDayStart(absl::string_view day);
inline constexpr char kAlertGroupPrefix[] = "g";

// Hub queues (outbox, rechecks): per agency, in order. An agency id holds
// no 0x00 (security/identity.h).
std::string QueueKey(absl::string_view agency, uint64_t seq);
std::string QueuePrefix(absl::string_view agency);
// The hub's delivered alerts: per agency, by the node's cursor, then by
// outbox seq (several alerts may share a cursor).
std::string DeliveredKey(absl::string_view agency, uint64_t cursor,
                         uint64_t seq);
// The hub's record of the last cursor an agency's node reported.
std::string LastCursorKey(absl::string_view agency);

}  // namespace deconfliction::keys

#endif  // DECONFLICTION_STORAGE_KEYS_H_
