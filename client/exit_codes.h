// The CLI's exit codes, so that scripts can tell outcomes apart without
// parsing output. Documented in `deconflict --help` and docs/cli.md.
#ifndef DECONFLICTION_CLIENT_EXIT_CODES_H_
#define DECONFLICTION_CLIENT_EXIT_CODES_H_

#include "absl/status/status.h"
#include "absl/strings/match.h"

namespace deconfliction {

enum ExitCode : int {
  // Done. For check/register/import: no hit, and every node in scope answered.
  kExitOk = 0,
  // At least one identifier is held by another investigation.
  kExitHit = 1,
  // The command line or profile is wrong (nothing was sent).
  kExitUsage = 2,
  // Input was rejected (bad identifier, case reference, CSV row...).
  kExitInvalidInput = 3,
  // No hit among the nodes that answered, but not every node answered:
  // "not known", never "no".
  kExitIncomplete = 4,
  // The node refused this certificate (unauthenticated or not permitted).
  kExitNotAuthorized = 5,
  // The node could not be reached or did not answer in time, or failed.
  kExitUnavailable = 6,
  // The case does not exist, or its state does not allow the command (e.g.
  // registering into a closed case).
  kExitNotFoundOrClosed = 7,
  // The agency's query cap at the hub refused the work (or the rest of a
  // bulk job): what was done is summarized, with the line to resume from.
  kExitOverCap = 8,
};

// Whether `status` is the hub's refusal of an agency over its query cap
// (server/caps/query_caps.h), as opposed to a full queue.
inline bool IsOverCap(const absl::Status& status) {
  return absl::IsResourceExhausted(status) &&
         absl::StrContains(status.message(), "over its cap");
}

// The exit code for a failed call.
inline ExitCode ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return kExitInvalidInput;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kExitNotAuthorized;
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      return kExitNotFoundOrClosed;
    case absl::StatusCode::kResourceExhausted:
      return IsOverCap(status) ? kExitOverCap : kExitUnavailable;
    default:
      return kExitUnavailable;
  }
}

}  // namespace deconfliction

#endif  // DECONFLICTION_CLIENT_EXIT_CODES_H_
