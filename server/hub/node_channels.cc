#include "server/hub/node_channels.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/log.h"
#include "rpc/channels.h"
#include "rpc/grpc_status.h"
#include "security/identity.h"
#include "security/tls.h"

namespace deconfliction {
namespace {

// One call in flight: what gRPC needs alive until it completes.
template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
  NodeLinks::Done<Response> done;
};

template <typename Request, typename Response, typename Start>
void StartCall(Request request, absl::Time deadline,
               NodeLinks::Done<Response> done, Start start) {
  auto call = std::make_shared<Call<Request, Response>>();
  call->request = std::move(request);
  call->done = std::move(done);
  call->context.set_deadline(absl::ToChronoTime(deadline));
  start(&call->context, &call->request, &call->response,
        [call](const grpc::Status& status) {
          if (status.ok()) {
            call->done(std::move(call->response));
          } else {
            call->done(FromGrpcStatus(status));
          }
        });
}

absl::Status NotConfigured(const std::string& agency) {
  return absl::NotFoundError(
      absl::StrCat("agency \"", agency, "\" is not a configured node"));
}

}  // namespace

NodeChannels::NodeChannels(MetricsRegistry* metrics)
    : call_seconds_(metrics->AddHistogramFamily(
          "deconfliction_hub_node_call_seconds",
          "How long each node took to answer the hub, by agency and method "
          "(LookupTokens: the fan-out of lookups and rechecks; "
          "DeliverAlerts).",
          {"agency", "method"},
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
           10})),
      failures_(metrics->AddCounterFamily(
          "deconfliction_hub_node_call_failures_total",
          "Calls of the hub to a node that failed, by agency, method and "
          "gRPC status code.",
          {"agency", "method", "code"})) {
  metrics->AddGaugeFamily(
      "deconfliction_hub_node_reachable",
      "1 for each configured node, 0 while its last call failed UNAVAILABLE "
      "or DEADLINE_EXCEEDED.",
      {"agency"}, [this] {
        std::vector<MetricsRegistry::GaugeSample> samples;
        const std::vector<std::string> configured = agencies();
        samples.reserve(configured.size());
        absl::MutexLock lock(&outages_mu_);
        for (const std::string& agency : configured) {
          samples.push_back(
              {{agency}, unreachable_since_.count(agency) > 0 ? 0.0 : 1.0});
        }
        return samples;
      });
}

absl::StatusOr<std::unique_ptr<NodeChannels>> NodeChannels::Create(
    const config::v1::HubConfig& config, MetricsRegistry* metrics) {
  std::unique_ptr<NodeChannels> channels(new NodeChannels(metrics));
  if (absl::Status s = channels->Update(config); !s.ok()) return s;
  return channels;
}

template <typename Response>
NodeLinks::Done<Response> NodeChannels::Observed(const std::string& agency,
                                                 const char* method,
                                                 Done<Response> done) {
  return [this, agency, method, started = absl::Now(),
          done = std::move(done)](absl::StatusOr<Response> response) {
    Finished(agency, method, absl::Now() - started, response.status());
    done(std::move(response));
  };
}

void NodeChannels::Finished(const std::string& agency, const char* method,
                            absl::Duration took, const absl::Status& status) {
  call_seconds_->WithLabels({agency, method})
      .Observe(absl::ToDoubleSeconds(took));
  if (!status.ok()) {
    failures_
        ->WithLabels({agency, method, absl::StatusCodeToString(status.code())})
        .Increment();
  }
  const bool unreachable =
      absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
  absl::MutexLock lock(&outages_mu_);
  auto out = unreachable_since_.find(agency);
  if (unreachable && out == unreachable_since_.end()) {
    unreachable_since_.emplace(agency, absl::Now());
    LogWarning("hub", "node unreachable",
               {{"agency", agency},
                {"method", method},
                {"code", absl::StatusCodeToString(status.code())},
                {"reason", std::string(status.message().substr(0, 200))}});
  } else if (!unreachable && out != unreachable_since_.end()) {
    LogInfo("hub", "node reachable again",
            {{"agency", agency},
             {"out_for_s",
              absl::StrFormat(
                  "%.1f", absl::ToDoubleSeconds(absl::Now() - out->second))}});
    unreachable_since_.erase(out);
  }
}

absl::Status NodeChannels::Update(const config::v1::HubConfig& config) {
  std::map<std::string, Link> in_force;
  {
    absl::MutexLock lock(&mu_);
    in_force = links_;
  }
  std::vector<std::string> agencies;
  std::map<std::string, Link> links;
  for (const config::v1::FederationNode& node : config.nodes()) {
    agencies.push_back(node.agency_id());
    auto kept = in_force.find(node.agency_id());
    if (kept != in_force.end() && kept->second.address == node.address()) {
      links[node.agency_id()] = kept->second;
      continue;
    }
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        MutualTlsChannelCredentials(
            config.tls(), "tls",
            NodeSpiffeId(config.federation(), node.agency_id()));
    if (!credentials.ok()) return credentials.status();
    links[node.agency_id()] =
        Link{node.address(), v1::NodeFederation::NewStub(FederationChannel(
                                 node.address(), *credentials))};
  }
  absl::MutexLock lock(&mu_);
  agencies_ = std::move(agencies);
  links_.swap(links);
  hung_node_timeout_ =
      absl::Milliseconds(config.limits().hung_node_timeout_ms());
  return absl::OkStatus();
}  // the dropped links are released outside the lock

std::vector<std::string> NodeChannels::agencies() const {
  absl::MutexLock lock(&mu_);
  return agencies_;
}

std::shared_ptr<v1::NodeFederation::Stub> NodeChannels::StubFor(
    const std::string& agency) const {
  absl::MutexLock lock(&mu_);
  auto it = links_.find(agency);
  return it == links_.end() ? nullptr : it->second.stub;
}

absl::Time NodeChannels::LookupDeadline(const std::string& agency,
                                        absl::Time deadline) const {
  {
    absl::MutexLock lock(&outages_mu_);
    if (unreachable_since_.count(agency) == 0) return deadline;
  }
  absl::MutexLock lock(&mu_);
  return std::min(deadline, absl::Now() + hung_node_timeout_);
}

void NodeChannels::LookupTokens(
    const std::string& agency,
    std::shared_ptr<const v1::TokenLookupRequest> request, absl::Time deadline,
    Done<v1::TokenLookupResponse> done) {
  std::shared_ptr<v1::NodeFederation::Stub> stub = StubFor(agency);
  if (stub == nullptr) return done(NotConfigured(agency));
  deadline = LookupDeadline(agency, deadline);
  done = Observed(agency, "LookupTokens", std::move(done));
  // The request is shared by every node of a fan-out: the call keeps it
  // alive instead of copying it.
  StartCall<std::shared_ptr<const v1::TokenLookupRequest>,
            v1::TokenLookupResponse>(
      std::move(request), deadline, std::move(done),
      [stub](grpc::ClientContext* context,
             const std::shared_ptr<const v1::TokenLookupRequest>* shared,
             v1::TokenLookupResponse* response,
             std::function<void(grpc::Status)> on_done) {
        stub->async()->LookupTokens(context, shared->get(), response,
                                    std::move(on_done));
      });
}

void NodeChannels::DeliverAlerts(const std::string& agency,
                                 v1::DeliverAlertsRequest request,
                                 absl::Time deadline,
                                 Done<v1::DeliverAlertsResponse> done) {
  std::shared_ptr<v1::NodeFederation::Stub> stub = StubFor(agency);
  if (stub == nullptr) return done(NotConfigured(agency));
  done = Observed(agency, "DeliverAlerts", std::move(done));
  StartCall<v1::DeliverAlertsRequest, v1::DeliverAlertsResponse>(
      std::move(request), deadline, std::move(done),
      [stub](grpc::ClientContext* context,
             const v1::DeliverAlertsRequest* request,
             v1::DeliverAlertsResponse* response,
             std::function<void(grpc::Status)> on_done) {
        stub->async()->DeliverAlerts(context, request, response,
                                     std::move(on_done));
      });
}

}  // namespace deconfliction
