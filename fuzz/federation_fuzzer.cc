// The requests that cross the federation, below gRPC, with fuzzed
// messages: a node answering the hub's LookupTokens and storing its
// DeliverAlerts (over a real database), and the hub's checks of a node's
// Lookup and of a node's answer. The first byte picks the request; the rest
// is parsed as its protobuf message (inputs that do not parse are skipped).
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "api/federation_checks.h"
#include "fuzz/fuzz_target.h"
#include "google/protobuf/stubs/logging.h"
#include "security/identity.h"
#include "server/node/alert_intake.h"
#include "server/node/token_lookup.h"
#include "storage/node_database.h"

namespace {

struct Node {
  Node() {
    // Strings that are not UTF-8 are refused by the parser; its log of
    // each one would only slow the search.
    google::protobuf::SetLogHandler(nullptr);
    std::string pattern = "/tmp/deconfliction-federation-fuzz.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    config.set_agency_id("agency-a");
    config.mutable_limits()->set_max_identifiers_per_request(1000);
    auto opened = deconfliction::NodeDatabase::Open(pattern, "agency-a",
                                                    "fuzz-epoch", absl::Now);
    if (!opened.ok()) std::abort();
    database = *std::move(opened);
    lookup = std::make_unique<deconfliction::TokenLookup>(
        &config, database.get(), absl::Now);
    intake = std::make_unique<deconfliction::AlertIntake>(
        &config, database.get(), nullptr, absl::Now);
    hub.uri = "spiffe://fed.test/hub";
    hub.role = deconfliction::FederationIdentity::Role::kHub;
  }
  deconfliction::config::v1::NodeConfig config;
  std::unique_ptr<deconfliction::NodeDatabase> database;
  std::unique_ptr<deconfliction::TokenLookup> lookup;
  std::unique_ptr<deconfliction::AlertIntake> intake;
  deconfliction::FederationIdentity hub;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Node* node = new Node();
  if (size == 0) return 0;
  const auto* body = data + 1;
  const int length = static_cast<int>(size - 1);
  namespace v1 = deconfliction::v1;
  switch (data[0] % 4) {
    case 0: {
      v1::TokenLookupRequest request;
      if (request.ParseFromArray(body, length)) {
        v1::TokenLookupResponse answer;
        node->lookup->Answer(request, node->hub, &answer).IgnoreError();
      }
      break;
    }
    case 1: {
      v1::DeliverAlertsRequest request;
      if (request.ParseFromArray(body, length)) {
        node->intake->Deliver(request).IgnoreError();
      }
      break;
    }
    case 2: {
      v1::FederatedLookupRequest request;
      if (request.ParseFromArray(body, length)) {
        deconfliction::CheckFederatedLookup(request).IgnoreError();
      }
      break;
    }
    default: {
      v1::TokenLookupResponse response;
      if (response.ParseFromArray(body, length)) {
        deconfliction::CheckTokenLookupResponse(response,
                                                response.answers_size())
            .IgnoreError();
      }
      break;
    }
  }
  return 0;
}
