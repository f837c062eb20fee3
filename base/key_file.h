// Files that hold secrets (key shares, audit keys): written once, owner-only,
// and refused when anyone else may read or write them. Thread-safe.
#ifndef DECONFLICTION_BASE_KEY_FILE_H_
#define DECONFLICTION_BASE_KEY_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace deconfliction {

// OK when `path` is a regular file that only its owner may read or write
// (0600 or 0400); else FAILED_PRECONDITION naming `path` and, as `what`,
// what it holds ("a key share").
absl::Status CheckOwnerOnly(const std::string& path, absl::string_view what);

// The contents of `path` after CheckOwnerOnly; NOT_FOUND when it does not
// exist.
absl::StatusOr<std::string> ReadOwnerOnlyFile(const std::string& path,
                                              absl::string_view what);

// Writes `text` to `path` with `mode`, atomically and durably (a temporary
// file synced and renamed into place). ALREADY_EXISTS when `path` exists:
// key files are never overwritten. FAILED_PRECONDITION when it cannot be
// written.
absl::Status WriteKeyFile(const std::string& path, const std::string& text,
                          unsigned mode);

}  // namespace deconfliction

#endif  // DECONFLICTION_BASE_KEY_FILE_H_
