// The log of the calls a server answers (base/log.h): an interceptor that
// StartServing puts on every server writes one line per call when its
// status is sent,
//
//   component=rpc msg=call method=/deconfliction.v1.Hub/Lookup
//     caller=spiffe://fed/agency/north/node code=OK latency_ms=3.214
//     received=1 sent=1
//
// `method` is MethodLabel's; `caller` the URI SANs of the peer's
// certificate as TLS verified them, else the peer's address; `received`
// and `sent` count messages (a stream's). No field of any message is ever
// logged.
//
// Calls that gRPC itself ends with UNIMPLEMENTED (an unknown method, or
// request bytes that do not parse as the method's message; gRPC answers
// them before any of this project's code runs) are logged at warning, with
// the path asked for (escaped, at most 200 bytes) and what they may mean: a
// stream of them is a client built against another version of the API, or
// someone probing. A request that never arrives whole ends the same way:
// calls known to be cancelled or past their deadline are not warned about,
// but a server that was stalled (stopped, swapping) can still warn about
// calls its clients gave up on meanwhile, and the line says so.
//
// Calls refused before they reach the server (authentication, the
// authorization policy) are logged where they are refused
// (security/authorization.h).
#ifndef DECONFLICTION_RPC_CALL_LOG_H_
#define DECONFLICTION_RPC_CALL_LOG_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

namespace deconfliction {

// For grpc::ServerBuilder::experimental().SetInterceptorCreators (StartServing
// adds it to every server, first).
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
LogCalls();

// `method` ("/package.Service/Method") when the generated descriptors know
// it, else "other": a caller cannot grow a metric's label set or fill the
// log with names of its choosing.
std::string MethodLabel(const char* method);

}  // namespace deconfliction

#endif  // DECONFLICTION_RPC_CALL_LOG_H_
