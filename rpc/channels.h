// Long-lived channels between the hub and the nodes: one per peer, reused
// for every call, kept alive across idle periods and reconnected with
// backoff after a failure. Calls do not wait for a connection: a peer that
// is down fails the call at once (UNAVAILABLE) and is reported, never
// waited on past the caller's deadline.
#ifndef DECONFLICTION_RPC_CHANNELS_H_
#define DECONFLICTION_RPC_CHANNELS_H_

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

namespace deconfliction {

// Keepalive ping every 30 s (10 s to answer), also without calls; reconnect
// backoff from 1 s up to 10 s.
std::shared_ptr<grpc::Channel> FederationChannel(
    const std::string& address,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials);

}  // namespace deconfliction

#endif  // DECONFLICTION_RPC_CHANNELS_H_
