// How the CLI shows answers: aligned human-readable text, or JSON in
// protobuf's JSON mapping (field names as in the .proto) for scripts. Text
// the CLI did not write itself (answers, the user's input) is shown with
// control characters escaped (base/untrusted_text.h), so that no answer can
// act on the terminal.
#ifndef DECONFLICTION_CLIENT_RENDER_H_
#define DECONFLICTION_CLIENT_RENDER_H_

#include <ostream>
#include <string>

#include "api/deconfliction/v1/deconfliction.pb.h"

namespace deconfliction {

// Counts over results, for summaries and the exit code.
struct ResultTally {
  uint64_t identifiers = 0;
  uint64_t with_hits = 0;
  uint64_t unknown = 0;  // no hit, but not every node answered
  // The hub did not take the identifier's lookup (a registration's waits at
  // the node, which sends it again); of those, refused over the cap.
  uint64_t hub_not_taken = 0;
  uint64_t hub_over_cap = 0;
  void Add(const v1::CheckResult& result);
};

// One result: the identifier as the user wrote it (`label`), then its hits.
void RenderResult(const std::string& label, const v1::CheckResult& result,
                  std::ostream& out);
// "3 identifiers: 1 held elsewhere, 2 not held (searched: this node only)".
void RenderTally(const ResultTally& tally, v1::CheckScope scope,
                 std::ostream& out);
// For a registration: what becomes of the lookups the hub did not take
// (nothing when it took them all).
void RenderWaitingLookups(const ResultTally& tally, std::ostream& out);
void RenderCaseLine(const v1::Case& c, std::ostream& out);
void RenderCase(const v1::Case& c, std::ostream& out);
void RenderAlert(const v1::Alert& alert, std::ostream& out);

}  // namespace deconfliction

#endif  // DECONFLICTION_CLIENT_RENDER_H_
