// TokenRetry: makes the tokens of registrations stored while fewer of the
// token key's custodians answered than its threshold (CaseStore's awaiting
// tokens), oldest first, every kTokenRetryInterval, until the custodians
// answer. Each registration's tokens are then attached in one batch that
// also indexes its entries and queues its federated lookup in the
// FederationQueue, for FederationRetry to send: its matches are found and
// alerted on both sides as for any registration.
//
// Threading: one thread of its own (Periodic), which waits on the custodians
// (at most token_key.timeout_ms per attempt). The destructor stops and joins
// it.
#ifndef DECONFLICTION_SERVER_NODE_TOKEN_RETRY_H_
#define DECONFLICTION_SERVER_NODE_TOKEN_RETRY_H_

#include "absl/time/time.h"
#include "api/deconfliction/config/v1/config.pb.h"
#include "base/clock.h"
#include "base/periodic.h"
#include "server/node/blind_tokenizer.h"
#include "storage/node_database.h"

namespace deconfliction {

inline constexpr absl::Duration kTokenRetryInterval = absl::Seconds(2);

class TokenRetry {
 public:
  // Everything must outlive the retry. `federated` is false for a node
  // without a hub: the entries are then only indexed.
  TokenRetry(const config::v1::NodeConfig* config, BlindTokenizer* tokens,
             NodeDatabase* database, bool federated, Clock clock);

 private:
  // Attaches the tokens of the oldest awaiting registrations, in order,
  // stopping at the first the custodians still cannot tokenize (or that
  // storage fails on, reported in the log) until the next interval.
  void AttachOldest();

  const config::v1::NodeConfig* const config_;
  BlindTokenizer* const tokens_;
  NodeDatabase* const database_;
  const bool federated_;
  const Clock clock_;
  Periodic periodic_;  // last: stops first
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_TOKEN_RETRY_H_
