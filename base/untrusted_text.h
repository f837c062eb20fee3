// Text that comes from outside this process (requests, peers' answers,
// files) and ends on someone's screen or in a log: checked before it is
// stored, escaped before it is printed, cut short before it is echoed.
// A control character in another agency's contact name could otherwise
// clear an investigator's terminal and print a fake "no hit".
#ifndef DECONFLICTION_BASE_UNTRUSTED_TEXT_H_
#define DECONFLICTION_BASE_UNTRUSTED_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace deconfliction {

// The most of an input echoed in an error message, in bytes.
inline constexpr size_t kMaxEchoBytes = 40;

// OK when `value` is at most `max_bytes` of UTF-8 without a control
// character (C0, DEL, C1) or a bidirectional-text control (U+061C,
// U+200E-U+200F, U+202A-U+202E, U+2066-U+2069). INVALID_ARGUMENT naming
// `field` and the reason otherwise, with the offending character's byte
// offset and code (never the text itself).
absl::Status CheckFreeText(absl::string_view value, absl::string_view field,
                           size_t max_bytes);

// `value` safe to print on a terminal: the characters CheckFreeText refuses
// as \x1b or \u{202e}, bytes that are not UTF-8 as \xff, backslashes
// doubled; everything else as is.
std::string EscapeForTerminal(absl::string_view value);

// At most kMaxEchoBytes of `value`, escaped (EscapeForTerminal), then "..."
// when it was longer: what an error message may repeat of an input.
std::string EchoForError(absl::string_view value);

}  // namespace deconfliction

#endif  // DECONFLICTION_BASE_UNTRUSTED_TEXT_H_
