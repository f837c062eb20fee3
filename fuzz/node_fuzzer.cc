// An agency's own requests and a custodian's, below gRPC, with fuzzed
// messages: a node's Check and Register (validation, canonicalization,
// tokens from three in-process custodians of a 2-of-3 key made at start,
// storage, audit), and a custodian's Evaluate. The first byte picks the
// request; the rest is parsed as its protobuf message (inputs that do not
// parse are skipped). Everything runs on the calling thread.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "fuzz/fuzz_target.h"
#include "google/protobuf/stubs/logging.h"
#include "metrics/metrics.h"
#include "oprf/threshold.h"
#include "security/identity.h"
#include "server/custodian/custodian.h"
#include "server/node/agency_node.h"
#include "server/node/blind_tokenizer.h"
#include "server/node/custodians.h"
#include "server/node/federated_check.h"
#include "storage/audit_log.h"
#include "storage/node_database.h"
#include "token_key/key_files.h"

namespace {

namespace dc = deconfliction;
namespace v1 = deconfliction::v1;

constexpr char kEpoch[] = "fuzz-epoch";

template <typename T>
T OrAbort(absl::StatusOr<T> value) {
  if (!value.ok()) std::abort();
  return *std::move(value);
}

// The custodians, called in process as the node's gRPC clients would call
// them.
class InProcessCustodians final : public dc::Custodians {
 public:
  InProcessCustodians(std::vector<std::string> names,
                      std::vector<std::unique_ptr<dc::Custodian>>* custodians)
      : names_(std::move(names)), custodians_(custodians) {
    node_.uri = "spiffe://fed.test/agency/agency-a/node";
    node_.agency_id = "agency-a";
    node_.role = dc::FederationIdentity::Role::kNode;
  }
  const std::vector<std::string>& names() const override { return names_; }
  void EvaluateEach(const std::shared_ptr<const v1::EvaluateRequest>& request,
                    absl::Time /*deadline*/, const AnswerDone& done) override {
    for (size_t i = 0; i < names_.size(); ++i) {
      done(names_[i], (*custodians_)[i]->Evaluate(*request, node_));
    }
  }
  const dc::FederationIdentity& node() const { return node_; }

 private:
  const std::vector<std::string> names_;
  std::vector<std::unique_ptr<dc::Custodian>>* const custodians_;
  dc::FederationIdentity node_;
};

struct Agency {
  Agency() {
    // Strings that are not UTF-8 are refused by the parser; its log of
    // each one would only slow the search.
    google::protobuf::SetLogHandler(nullptr);
    std::string dir = "/tmp/deconfliction-node-fuzz.XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) std::abort();
    const std::vector<std::string> names = {"alpha", "beta", "gamma"};
    std::vector<dc::oprf::KeyShare> shares;
    {
      const dc::oprf::SecretScalar key(dc::oprf::RandomScalar());
      shares = OrAbort(dc::oprf::SplitKey(key.get(), 2, 3));
    }
    bundle = OrAbort(dc::BundleFor(names, shares, kEpoch, 2, 0));
    custodian_config.mutable_limits()->set_max_elements_per_request(100);
    caps = std::make_unique<dc::QueryCaps>(custodian_config.caps());
    for (int i = 0; i < 3; ++i) {
      audits.push_back(
          OrAbort(dc::AuditDatabase::Open(dir + "/custodian-" + names[i])));
      custodian_metrics.push_back(std::make_unique<dc::MetricsRegistry>());
      custodians.push_back(OrAbort(dc::Custodian::Create(
          &custodian_config,
          dc::ShareFileFor(bundle, bundle.custodians(i), shares[i]), caps.get(),
          &audits.back()->audit(), custodian_metrics.back().get(), absl::Now)));
    }
    reach = std::make_unique<InProcessCustodians>(names, &custodians);
    tokenizer = OrAbort(
        dc::BlindTokenizer::Create(bundle, reach.get(), 1000, &metrics));
    config.set_agency_id("agency-a");
    config.set_default_region("CA");
    config.set_default_retention_days(30);
    config.mutable_limits()->set_max_identifiers_per_request(100);
    config.mutable_token_key()->set_timeout_ms(1000);
    database = OrAbort(
        dc::NodeDatabase::Open(dir + "/node", "agency-a", kEpoch, absl::Now));
    federated = std::make_unique<dc::FederatedCheck>(
        &config, nullptr, database.get(), nullptr, absl::Now);
    node = std::make_unique<dc::AgencyNode>(
        &config, tokenizer.get(), database.get(), federated.get(), absl::Now);
    user.uri = "spiffe://fed.test/agency/agency-a/user/fuzz";
    user.agency_id = "agency-a";
    user.role = dc::FederationIdentity::Role::kUser;
  }

  dc::keys::v1::TokenKeyBundle bundle;
  dc::config::v1::CustodianConfig custodian_config;
  std::unique_ptr<dc::QueryCaps> caps;
  std::vector<std::unique_ptr<dc::AuditDatabase>> audits;
  std::vector<std::unique_ptr<dc::MetricsRegistry>> custodian_metrics;
  std::vector<std::unique_ptr<dc::Custodian>> custodians;
  std::unique_ptr<InProcessCustodians> reach;
  dc::MetricsRegistry metrics;
  std::unique_ptr<dc::BlindTokenizer> tokenizer;
  dc::config::v1::NodeConfig config;
  std::unique_ptr<dc::NodeDatabase> database;
  std::unique_ptr<dc::FederatedCheck> federated;
  std::unique_ptr<dc::AgencyNode> node;
  dc::FederationIdentity user;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Agency* agency = new Agency();
  if (size == 0) return 0;
  const auto* body = data + 1;
  const int length = static_cast<int>(size - 1);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  switch (data[0] % 3) {
    case 0: {
      v1::CheckRequest request;
      if (request.ParseFromArray(body, length)) {
        agency->node->Check(request, 0, agency->user, deadline,
                            /*in_turn=*/nullptr,
                            [](const absl::StatusOr<v1::CheckResponse>&) {});
      }
      break;
    }
    case 1: {
      v1::RegisterRequest request;
      if (request.ParseFromArray(body, length)) {
        agency->node->Register(
            request, agency->user, deadline,
            [](const absl::StatusOr<v1::RegisterResponse>&) {});
      }
      break;
    }
    default: {
      v1::EvaluateRequest request;
      if (request.ParseFromArray(body, length)) {
        agency->custodians[0]
            ->Evaluate(request, agency->reach->node())
            .IgnoreError();
      }
      break;
    }
  }
  return 0;
}
