// Calls that gRPC itself ends with UNIMPLEMENTED: an unknown method, or
// request bytes that do not parse as the method's message. gRPC's callback
// API answers them before any of this project's code runs, with no message,
// so nothing else would record them; a server interceptor logs each one on
// stderr with the method and the peer (its SPIFFE ID when it has one). A
// stream of them is a client built against another version of the API, or
// someone probing. A request that never arrives whole ends the same way:
// calls known to be cancelled or past their deadline are not logged, but a
// server that was stalled (stopped, swapping) can still log the calls its
// clients gave up on meanwhile, and the line says so.
#ifndef DECONFLICTION_RPC_UNPARSABLE_CALLS_H_
#define DECONFLICTION_RPC_UNPARSABLE_CALLS_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace deconfliction {

// For grpc::ServerBuilder::experimental().SetInterceptorCreators (StartServing
// adds it to every server).
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
LogUnparsableCalls();

}  // namespace deconfliction

#endif  // DECONFLICTION_RPC_UNPARSABLE_CALLS_H_
