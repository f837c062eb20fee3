// The hub's sharing policy (config::v1::SharingPolicy), applied to every
// federated lookup: the federation-wide list of common identifiers (as
// tokens) and silent entries. Its query caps are server/caps/query_caps.h.
#ifndef DECONFLICTION_SERVER_HUB_SHARING_POLICY_H_
#define DECONFLICTION_SERVER_HUB_SHARING_POLICY_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "api/deconfliction/v1/federation.pb.h"

namespace deconfliction {

// Tokens of identifiers that are never reported as hits.
class CommonIdentifiers {
 public:
  CommonIdentifiers() = default;
  // Reads 64-hex-digit tokens, one per line ('#' comments, blank lines).
  // INVALID_ARGUMENT naming the file and line otherwise.
  static absl::StatusOr<CommonIdentifiers> Load(const std::string& path);

  bool Contains(const std::string& token) const {
    return tokens_.count(token) > 0;
  }
  size_t size() const { return tokens_.size(); }

 private:
  std::set<std::string> tokens_;
};

// Turns a node's answer into the hits a querier may see. `owner` is the
// answering agency (from its certificate). A silent entry becomes a pointer
// to the coordination centre, and `*silent_owner` is set.
v1::Hit ShareHit(const v1::TokenHit& hit, const std::string& owner,
                 const config::v1::SharingPolicy& policy, bool* silent_owner);

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_HUB_SHARING_POLICY_H_
