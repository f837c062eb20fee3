// ArenaMessages: a callback server's unary request and response allocated
// on one protobuf Arena per call, freed at once when the call is done. A
// request of a thousand queries, or a response of a thousand answers, is
// then parsed and built without a thousand heap allocations and frees.
// Register it with the generated SetMessageAllocatorFor_<Method>; build the
// answer in the call's response itself (a message moved in from the heap
// would be copied).
//
// Thread safety: AllocateMessages may be called concurrently.
#ifndef DECONFLICTION_RPC_ARENA_MESSAGES_H_
#define DECONFLICTION_RPC_ARENA_MESSAGES_H_

#include <google/protobuf/arena.h>
#include <grpcpp/support/message_allocator.h>

namespace deconfliction {

template <typename Request, typename Response>
class ArenaMessages final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override {
    return new Messages();
  }

 private:
  class Messages final : public grpc::MessageHolder<Request, Response> {
   public:
    Messages() {
      this->set_request(
          google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(
          google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    // gRPC calls it once the call is done with both messages.
    void Release() override { delete this; }

   private:
    google::protobuf::Arena arena_;
  };
};

}  // namespace deconfliction

#endif  // DECONFLICTION_RPC_ARENA_MESSAGES_H_
