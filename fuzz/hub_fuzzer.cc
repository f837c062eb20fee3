// The hub's request handling below gRPC, with fuzzed messages: a node's
// Lookup through the whole Coordinator (validation, caps, fan-out, the
// other nodes' answers, sharing policy, alerts into the outbox, audit,
// delivery), where the other nodes answer with a fuzzed message too; and a
// node's AnchorAudit. The first byte picks the request. For a Lookup, the
// next two bytes give the length of the FederatedLookupRequest that follows;
// the rest is the TokenLookupResponse every other node answers with. Inputs
// that do not parse are skipped.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "fuzz/fuzz_target.h"
#include "google/protobuf/stubs/logging.h"
#include "rpc/work_queue.h"
#include "security/identity.h"
#include "server/caps/query_caps.h"
#include "server/hub/alert_delivery.h"
#include "server/hub/coordinator.h"
#include "server/hub/node_links.h"
#include "server/hub/sharing_policy.h"
#include "storage/alert_outbox.h"

namespace {

namespace dc = deconfliction;
namespace v1 = deconfliction::v1;

// Nodes that answer every lookup with the answer set last (alert delivery
// asks them too, for rechecks, from its own threads) and take every alert.
class ScriptedNodes final : public dc::NodeLinks {
 public:
  explicit ScriptedNodes(std::vector<std::string> agencies)
      : agencies_(std::move(agencies)) {}
  std::vector<std::string> agencies() const override { return agencies_; }
  void LookupTokens(const std::string& /*agency*/,
                    std::shared_ptr<const v1::TokenLookupRequest> /*request*/,
                    absl::Time /*deadline*/,
                    Done<v1::TokenLookupResponse> done) override {
    v1::TokenLookupResponse answer;
    {
      absl::MutexLock lock(&mu_);
      answer = answer_;
    }
    done(std::move(answer));
  }
  void DeliverAlerts(const std::string& /*agency*/,
                     v1::DeliverAlertsRequest /*request*/,
                     absl::Time /*deadline*/,
                     Done<v1::DeliverAlertsResponse> done) override {
    done(v1::DeliverAlertsResponse());
  }

  void SetAnswer(v1::TokenLookupResponse answer) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(answer);
  }

 private:
  const std::vector<std::string> agencies_;
  absl::Mutex mu_;
  v1::TokenLookupResponse answer_ ABSL_GUARDED_BY(mu_);
};

struct Hub {
  Hub() {
    // Strings that are not UTF-8 are refused by the parser; its log of
    // each one would only slow the search.
    google::protobuf::SetLogHandler(nullptr);
    std::string dir = "/tmp/deconfliction-hub-fuzz.XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) std::abort();
    config.set_federation("fed.test");
    for (const char* agency : {"north", "south", "ccc"}) {
      config.add_nodes()->set_agency_id(agency);
    }
    config.mutable_limits()->set_max_tokens_per_request(100);
    config.mutable_limits()->set_node_timeout_ms(1000);
    config.mutable_policy()->set_coordination_centre_agency_id("ccc");
    config.mutable_policy()->mutable_coordination_centre_contact()->set_name(
        "Duty desk");
    auto opened = dc::HubDatabase::Open(dir + "/hub");
    if (!opened.ok()) std::abort();
    database = *std::move(opened);
    caps = std::make_unique<dc::QueryCaps>(config.policy().caps());
    settings =
        std::make_unique<dc::HubSettingsInForce>(dc::HubSettings{config, {}});
    writes = std::make_unique<dc::WorkQueue>(2, 64);
    delivery = std::make_unique<dc::AlertDelivery>(
        settings.get(), &database->outbox(), &nodes, writes.get(), &metrics,
        absl::Now);
    coordinator = std::make_unique<dc::Coordinator>(
        settings.get(), &nodes, caps.get(), database.get(), writes.get(),
        delivery.get(), absl::Now);
    north.uri = "spiffe://fed.test/agency/north/node";
    north.agency_id = "north";
    north.role = dc::FederationIdentity::Role::kNode;
  }

  dc::config::v1::HubConfig config;
  ScriptedNodes nodes{{"north", "south", "ccc"}};
  dc::MetricsRegistry metrics;
  std::unique_ptr<dc::HubSettingsInForce> settings;
  std::unique_ptr<dc::HubDatabase> database;
  std::unique_ptr<dc::QueryCaps> caps;
  std::unique_ptr<dc::WorkQueue> writes;
  std::unique_ptr<dc::AlertDelivery> delivery;
  std::unique_ptr<dc::Coordinator> coordinator;
  dc::FederationIdentity north;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Hub* hub = new Hub();
  if (size == 0) return 0;
  absl::Notification finished;
  if (data[0] % 2 == 0) {
    if (size < 3) return 0;
    const size_t length = (size_t{data[1]} << 8) | data[2];
    if (3 + length > size) return 0;
    v1::FederatedLookupRequest request;
    v1::TokenLookupResponse answer;
    if (!request.ParseFromArray(data + 3, static_cast<int>(length)) ||
        !answer.ParseFromArray(data + 3 + length,
                               static_cast<int>(size - 3 - length))) {
      return 0;
    }
    hub->nodes.SetAnswer(std::move(answer));
    hub->coordinator->Lookup(
        request, hub->north, absl::Now() + absl::Seconds(5),
        [&](const absl::StatusOr<v1::FederatedLookupResponse>&) {
          finished.Notify();
        });
  } else {
    v1::AnchorAuditRequest request;
    if (!request.ParseFromArray(data + 1, static_cast<int>(size - 1))) {
      return 0;
    }
    hub->coordinator->AnchorAudit(
        request, hub->north,
        [&](const absl::StatusOr<v1::AnchorAuditResponse>&) {
          finished.Notify();
        });
  }
  finished.WaitForNotification();
  return 0;
}
