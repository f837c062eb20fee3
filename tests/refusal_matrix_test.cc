// The refusal matrix: every kind of caller against every method of a node,
// the hub and a custodian, over real mutual TLS, in one process. What each
// caller may do comes from the authorization table (security/
// authorization.h); everything else must be refused, and the right way:
// no TLS session for a certificate the federation CA did not issue or that
// is outside its dates, UNAUTHENTICATED for a revoked one (also one revoked
// while the servers run), PERMISSION_DENIED for a sound certificate of the
// wrong identity.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "api/deconfliction/v1/deconfliction.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "security/revocation.h"
#include "server/hub/hub_config.h"
#include "server/hub/hub_server.h"
#include "server/node/node_server.h"
#include "tests/temp_dir.h"
#include "tests/test_custodians.h"
#include "tests/test_node.h"
#include "tests/test_pki.h"

namespace deconfliction {
namespace {

using ::testing::HasSubstr;

constexpr char kFederation[] = "fed.test";

enum class Outcome {
  kServed,     // any answer but a refusal
  kNoSession,  // UNAVAILABLE: the TLS handshake failed
  kRevoked,    // UNAUTHENTICATED
  kDenied,     // PERMISSION_DENIED
};

const char* Name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kServed:
      return "served";
    case Outcome::kNoSession:
      return "no TLS session";
    case Outcome::kRevoked:
      return "UNAUTHENTICATED";
    case Outcome::kDenied:
      return "PERMISSION_DENIED";
  }
  return "?";
}

Outcome OutcomeOf(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return Outcome::kNoSession;
    case grpc::StatusCode::UNAUTHENTICATED:
      return Outcome::kRevoked;
    case grpc::StatusCode::PERMISSION_DENIED:
      return Outcome::kDenied;
    default:
      return Outcome::kServed;
  }
}

// Every method path of `service`: from the compiled descriptors, and for
// the services gRPC implements itself, from their definitions.
std::vector<std::string> Methods(const std::string& service) {
  if (service == "grpc.health.v1.Health") {
    return {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"};
  }
  if (service == "grpc.reflection.v1alpha.ServerReflection") {
    return {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"};
  }
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          service);
  std::vector<std::string> paths;
  if (descriptor == nullptr) return paths;
  for (int i = 0; i < descriptor->method_count(); ++i) {
    paths.push_back(
        absl::StrCat("/", service, "/", descriptor->method(i)->name()));
  }
  return paths;
}

// A target: a server and who may call which of its services.
struct Target {
  std::string name;
  std::string address;
  std::string spiffe_id;
  // Service -> SPIFFE IDs allowed ("*" for any certificate of the
  // federation).
  std::map<std::string, std::vector<std::string>> allowed;
};

// A caller: how it connects, and the identity its certificate names (empty
// when it has no sound federation identity).
struct Caller {
  std::string name;
  std::function<std::shared_ptr<grpc::ChannelCredentials>(const Target&)>
      credentials;
  // The outcome for a method the identity may not call; kServed when its
  // refusal depends on the table.
  Outcome refusal;
  std::string identity;
};

class RefusalMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok());
    ASSERT_TRUE(custodians_.Make());
    ASSERT_TRUE(custodians_.Start(dir_.path() + "/custodians"));
    for (const char* agency : {"agency-a", "agency-b"}) {
      ASSERT_TRUE(pki_.Node(agency));
    }
    ASSERT_TRUE(pki_.Hub());
    ASSERT_TRUE(pki_.User("agency-a", "alice"));
    ASSERT_TRUE(pki_.User("agency-a", "mallory"));
    ASSERT_TRUE(pki_.Revoke("user-agency-a-mallory"));
    ASSERT_TRUE(pki_.User("agency-a", "late"));
    const std::string user = "URI:spiffe://fed.test/agency/agency-a/user/";
    ASSERT_TRUE(pki_.Certificate("expired", user + "expired", "20200101000000Z",
                                 "20210101000000Z"));
    ASSERT_TRUE(pki_.Certificate("early", user + "early", "20900101000000Z",
                                 "20910101000000Z"));
    ASSERT_TRUE(pki_.Certificate("foreign-domain",
                                 "URI:spiffe://other.test/agency/agency-a/"
                                 "user/alice",
                                 "20200101000000Z", "20900101000000Z"));
    ASSERT_TRUE(pki_.Certificate("no-uri", "DNS:alice.example",
                                 "20200101000000Z", "20900101000000Z"));
    ASSERT_TRUE(pki_.Certificate("two-uris",
                                 absl::StrCat(user, "alice,", user, "bob"),
                                 "20200101000000Z", "20900101000000Z"));
    ASSERT_TRUE(other_pki_.ok());
    ASSERT_TRUE(other_pki_.User("agency-a", "alice"));

    auto node = NodeServer::Start(TestNodeConfig(
        pki_, kFederation, "agency-a", dir_.path() + "/nodes", custodians_));
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);

    config::v1::HubConfig hub;
    hub.set_federation(kFederation);
    hub.set_listen_address("127.0.0.1:0");
    *hub.mutable_tls() = pki_.Files("hub", /*with_crl=*/true);
    hub.set_data_dir(dir_.path() + "/hub");
    hub.mutable_metrics()->set_listen_address("127.0.0.1:0");
    for (const char* agency : {"agency-a", "agency-b"}) {
      config::v1::FederationNode* member = hub.add_nodes();
      member->set_agency_id(agency);
      member->set_address(absl::StrCat("127.0.0.1:", node_->port()));
    }
    hub.mutable_policy()->set_coordination_centre_agency_id("agency-b");
    hub.mutable_policy()->mutable_coordination_centre_contact()->set_name(
        "Duty desk");
    hub.mutable_policy()->mutable_coordination_centre_contact()->set_phone(
        "+16135550000");
    ASSERT_TRUE(ValidateHubConfig(&hub).ok());
    auto started = HubServer::Start(hub);
    ASSERT_TRUE(started.ok()) << started.status();
    hub_ = *std::move(started);
  }

  std::vector<Target> Targets() const {
    const std::string users = "spiffe://fed.test/agency/agency-a/user/";
    const std::string node_a = "spiffe://fed.test/agency/agency-a/node";
    const std::string node_b = "spiffe://fed.test/agency/agency-b/node";
    const std::string hub = "spiffe://fed.test/hub";
    return {
        {"node",
         absl::StrCat("127.0.0.1:", node_->port()),
         node_a,
         {{"deconfliction.v1.Registry", {users}},
          {"deconfliction.v1.Deconfliction", {users}},
          {"deconfliction.v1.Alerts", {users}},
          {"deconfliction.v1.NodeFederation", {hub}},
          {"grpc.reflection.v1alpha.ServerReflection", {users}},
          {"grpc.health.v1.Health", {"*"}}}},
        {"hub",
         absl::StrCat("127.0.0.1:", hub_->port()),
         hub,
         {{"deconfliction.v1.Hub", {node_a, node_b}},
          {"grpc.reflection.v1alpha.ServerReflection", {node_a, node_b}},
          {"grpc.health.v1.Health", {"*"}}}},
        {"custodian",
         custodians_.Address("alpha"),
         "spiffe://fed.test/custodian/alpha",
         {{"deconfliction.v1.TokenIssuer", {node_a}},
          {"grpc.reflection.v1alpha.ServerReflection", {node_a}},
          {"grpc.health.v1.Health", {"*"}}}},
    };
  }

  // Credentials presenting `cert_name` of `pki` and trusting this
  // federation's CA, checked by nothing but gRPC's TLS.
  std::function<std::shared_ptr<grpc::ChannelCredentials>(const Target&)>
  Presenting(const TestPki& pki, const std::string& cert_name) const {
    config::v1::TlsFiles files = pki.Files(cert_name);
    files.set_ca_file(pki_.Files(cert_name).ca_file());
    return [files](const Target&) { return UncheckedTlsCredentials(files); };
  }

  std::vector<Caller> Callers() const {
    const std::string users = "spiffe://fed.test/agency/agency-a/user/";
    std::vector<Caller> callers = {
        {"plaintext",
         [](const Target&) { return grpc::InsecureChannelCredentials(); },
         Outcome::kNoSession, ""},
        {"no certificate",
         [this](const Target&) {
           grpc::SslCredentialsOptions options;
           std::ifstream in(pki_.Files("hub").ca_file());
           options.pem_root_certs.assign(std::istreambuf_iterator<char>(in),
                                         {});
           return grpc::SslCredentials(options);
         },
         Outcome::kNoSession, ""},
        {"another CA", Presenting(other_pki_, "user-agency-a-alice"),
         Outcome::kNoSession, ""},
        {"expired", Presenting(pki_, "expired"), Outcome::kNoSession, ""},
        {"not yet valid", Presenting(pki_, "early"), Outcome::kNoSession, ""},
        {"revoked at start", Presenting(pki_, "user-agency-a-mallory"),
         Outcome::kRevoked, ""},
        {"revoked while running", Presenting(pki_, "user-agency-a-late"),
         Outcome::kRevoked, ""},
        {"another trust domain", Presenting(pki_, "foreign-domain"),
         Outcome::kDenied, ""},
        {"no URI SAN", Presenting(pki_, "no-uri"), Outcome::kDenied, ""},
        {"two URI SANs", Presenting(pki_, "two-uris"), Outcome::kDenied, ""},
    };
    // Sound identities: what they may do is the table's.
    for (const auto& [name, id] :
         std::vector<std::pair<std::string, std::string>>{
             {"user-agency-a-alice", users + "alice"},
             {"hub", "spiffe://fed.test/hub"},
             {"node-agency-a", "spiffe://fed.test/agency/agency-a/node"},
             {"node-agency-b", "spiffe://fed.test/agency/agency-b/node"},
             {"custodian-beta", "spiffe://fed.test/custodian/beta"}}) {
      callers.push_back({name, Presenting(pki_, name), Outcome::kServed, id});
    }
    return callers;
  }

  // Whether `identity` may call `service` of `target`.
  static bool Allowed(const Target& target, const std::string& service,
                      const std::string& identity) {
    auto rule = target.allowed.find(service);
    if (rule == target.allowed.end() || identity.empty()) return false;
    for (const std::string& pattern : rule->second) {
      if (pattern == "*" || identity == pattern ||
          (pattern.back() == '/' && identity.rfind(pattern, 0) == 0)) {
        return true;
      }
    }
    return false;
  }

  static grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel,
                           const std::string& path) {
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(1500));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);  // an empty message of any type
    grpc::ByteBuffer response;
    grpc::Status status;
    absl::Notification done;
    stub.UnaryCall(&context, path, grpc::StubOptions(), &request, &response,
                   [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    return status;
  }

  TempDir dir_;
  TestPki pki_{dir_.path() + "/pki", kFederation};
  TestPki other_pki_{dir_.path() + "/other-pki", kFederation};
  TestCustodians custodians_{&pki_, {"agency-a"}};
  std::unique_ptr<NodeServer> node_;
  std::unique_ptr<HubServer> hub_;
};

TEST_F(RefusalMatrixTest, EveryCallerIsRefusedTheRightWayByEveryMethod) {
  // Revoked while the servers run: within the poll interval, with no
  // restart (the list is shared by every server of this process).
  ASSERT_TRUE(pki_.Revoke("user-agency-a-late"));
  absl::SleepFor(kRevocationPollInterval + absl::Seconds(1));

  int calls = 0;
  int wrong = 0;
  for (const Target& target : Targets()) {
    for (const Caller& caller : Callers()) {
      auto channel =
          grpc::CreateChannel(target.address, caller.credentials(target));
      for (const auto& [service, allowed_ids] : target.allowed) {
        const bool allowed = Allowed(target, service, caller.identity);
        const Outcome expected =
            caller.refusal != Outcome::kServed
                ? caller.refusal
                : (allowed ? Outcome::kServed : Outcome::kDenied);
        for (const std::string& path : Methods(service)) {
          const grpc::Status status = Call(channel, path);
          ++calls;
          if (OutcomeOf(status) != expected) {
            ++wrong;
            ADD_FAILURE() << target.name << " " << path << " by " << caller.name
                          << ": expected " << Name(expected) << ", got "
                          << status.error_code() << " "
                          << status.error_message();
          }
        }
      }
    }
  }
  std::cout << "refusal matrix: " << calls << " calls, " << wrong << " wrong\n";
  EXPECT_GT(calls, 200);
  // The hub counted the calls it answered, by method and code; a name that
  // is none of its methods is counted as "other".
  const Target hub = Targets()[1];
  EXPECT_EQ(Call(grpc::CreateChannel(hub.address,
                                     Presenting(pki_, "node-agency-b")(hub)),
                 "/deconfliction.v1.Hub/NoSuchMethod")
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  httplib::Client scraper("127.0.0.1", hub_->metrics_port());
  scraper.set_read_timeout(5);
  auto scraped = scraper.Get("/metrics");
  ASSERT_TRUE(scraped);
  EXPECT_THAT(scraped->body, HasSubstr("\ndeconfliction_build_info{"));
  EXPECT_THAT(scraped->body,
              HasSubstr("\ndeconfliction_rpc_server_calls_total{method=\"/"
                        "deconfliction.v1.Hub/Lookup\",code=\""));
  EXPECT_THAT(scraped->body,
              HasSubstr("\ndeconfliction_rpc_server_call_seconds_bucket{"
                        "method=\"/deconfliction.v1.Hub/AnchorAudit\",le=\""));
  EXPECT_THAT(scraped->body,
              HasSubstr("{method=\"other\",code=\"UNIMPLEMENTED\"}"));
}

}  // namespace
}  // namespace deconfliction
