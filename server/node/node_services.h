// The node's gRPC services: thin callback-API adapters over the node's
// gRPC-free parts (AgencyNode for Registry and Deconfliction, TokenLookup
// and AlertIntake for NodeFederation, AlertIntake for Alerts).
// Handlers only admit work: the blocking part runs on a WorkQueue, which
// finishes the call. A call whose deadline has passed or that was cancelled
// before a worker took it is not run. A full queue answers
// RESOURCE_EXHAUSTED at once.
//
// Who may call which service is decided before any handler runs, by the
// authorization policy (security/authorization.h).
#ifndef DECONFLICTION_SERVER_NODE_NODE_SERVICES_H_
#define DECONFLICTION_SERVER_NODE_NODE_SERVICES_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "api/deconfliction/v1/deconfliction.grpc.pb.h"
#include "api/deconfliction/v1/federation.grpc.pb.h"
#include "base/periodic.h"
#include "rpc/arena_messages.h"
#include "rpc/work_queue.h"
#include "server/node/agency_node.h"
#include "server/node/alert_intake.h"
#include "server/node/token_lookup.h"

namespace deconfliction {

// CheckBulk chunks a stream has read and not yet answered, at most: they
// are checked at once, so that one chunk's tokenization (at this node and
// at the custodians) overlaps the next one's.
inline constexpr uint32_t kBulkChunksInFlight = 3;

class RegistryService final : public v1::Registry::CallbackService {
 public:
  RegistryService(AgencyNode* node, WorkQueue* queue)
      : node_(node), queue_(queue) {}

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* context,
                                     const v1::RegisterRequest* request,
                                     v1::RegisterResponse* response) override;
  grpc::ServerUnaryReactor* CloseCase(grpc::CallbackServerContext* context,
                                      const v1::CloseCaseRequest* request,
                                      v1::CloseCaseResponse* response) override;
  grpc::ServerUnaryReactor* GetCase(grpc::CallbackServerContext* context,
                                    const v1::GetCaseRequest* request,
                                    v1::Case* response) override;
  grpc::ServerUnaryReactor* ListCases(grpc::CallbackServerContext* context,
                                      const v1::ListCasesRequest* request,
                                      v1::ListCasesResponse* response) override;

 private:
  AgencyNode* const node_;
  WorkQueue* const queue_;
};

class DeconflictionService final : public v1::Deconfliction::CallbackService {
 public:
  // `bulk_queue` runs CheckBulk chunks; each stream has at most
  // kBulkChunksInFlight chunks in it, and at most `max_bulk_streams`
  // streams are open at once (more are refused with RESOURCE_EXHAUSTED).
  DeconflictionService(AgencyNode* node, WorkQueue* queue,
                       WorkQueue* bulk_queue, uint32_t max_bulk_streams)
      : node_(node),
        queue_(queue),
        bulk_queue_(bulk_queue),
        max_bulk_streams_(max_bulk_streams) {}

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const v1::CheckRequest* request,
                                  v1::CheckResponse* response) override;
  grpc::ServerBidiReactor<v1::CheckRequest, v1::CheckResponse>* CheckBulk(
      grpc::CallbackServerContext* context) override;

 private:
  class BulkReactor;

  AgencyNode* const node_;
  WorkQueue* const queue_;
  WorkQueue* const bulk_queue_;
  const uint32_t max_bulk_streams_;
  std::atomic<uint32_t> open_bulk_streams_{0};
};

class NodeFederationService final : public v1::NodeFederation::CallbackService {
 public:
  NodeFederationService(TokenLookup* lookup, AlertIntake* alerts,
                        WorkQueue* queue)
      : lookup_(lookup), alerts_(alerts), queue_(queue) {
    SetMessageAllocatorFor_LookupTokens(&lookup_messages_);
  }

  grpc::ServerUnaryReactor* LookupTokens(
      grpc::CallbackServerContext* context,
      const v1::TokenLookupRequest* request,
      v1::TokenLookupResponse* response) override;
  grpc::ServerUnaryReactor* DeliverAlerts(
      grpc::CallbackServerContext* context,
      const v1::DeliverAlertsRequest* request,
      v1::DeliverAlertsResponse* response) override;

 private:
  TokenLookup* const lookup_;
  AlertIntake* const alerts_;
  WorkQueue* const queue_;
  // A lookup's request and answer live on one arena per call.
  ArenaMessages<v1::TokenLookupRequest, v1::TokenLookupResponse>
      lookup_messages_;
};

// Alerts for the agency's systems. A Watch stream reads the alert log from
// its cursor, writes one alert at a time, and when it has caught up waits
// for the AlertFeed to say that more were stored: any number of watchers,
// each at its own pace, none holding more than one page in memory. A
// watcher that asks for heartbeats (WatchRequest.heartbeat_seconds, at most
// kMaxHeartbeatSeconds) gets one after that long without a message (checked
// every second). EndWatches ends every stream at once, and any started
// later, with UNAVAILABLE naming the cursor to resume after.
class AlertsService final : public v1::Alerts::CallbackService {
 public:
  static constexpr uint32_t kMaxHeartbeatSeconds = 300;

  AlertsService(AlertIntake* alerts, WorkQueue* queue);
  ~AlertsService() override;

  // The node is stopping: its watchers should not hold the shutdown up.
  void EndWatches();

  grpc::ServerWriteReactor<v1::Alert>* Watch(
      grpc::CallbackServerContext* context,
      const v1::WatchRequest* request) override;
  grpc::ServerUnaryReactor* Acknowledge(
      grpc::CallbackServerContext* context,
      const v1::AcknowledgeRequest* request,
      v1::AcknowledgeResponse* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const v1::AlertStatusRequest* request,
                                   v1::AlertStatusResponse* response) override;

 private:
  class WatchReactor;

  AlertIntake* const alerts_;
  WorkQueue* const queue_;
  std::unique_ptr<Periodic> ticker_;  // last: stopped first
};

}  // namespace deconfliction

#endif  // DECONFLICTION_SERVER_NODE_NODE_SERVICES_H_
