// What an operator does to a running federation, as separate processes over
// real mutual TLS on loopback: an agency joins by configuration reloads
// (SIGHUP) of the custodians and the hub, with no restart and nothing for
// the other nodes to do; a reload the servers cannot take is refused and
// the configuration in force stays; every server exposes what an operator
// watches, and logs each call.
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "api/deconfliction/v1/deconfliction.grpc.pb.h"
#include "api/timestamps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/exposition.h"
#include "tests/temp_dir.h"
#include "tests/test_federation.h"

namespace deconfliction {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

v1::Identifier Email(const std::string& value) {
  v1::Identifier identifier;
  identifier.set_type(v1::IDENTIFIER_TYPE_EMAIL);
  identifier.set_value(value);
  return identifier;
}

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FederationOptions options;
    options.agencies = {"north", "ccc"};
    federation_ = std::make_unique<TestFederation>(dir_.path(), options);
    ASSERT_TRUE(federation_->Start());
  }

  grpc::Status Register(const std::string& agency, const std::string& case_ref,
                        const std::string& email) {
    v1::RegisterRequest request;
    request.set_case_ref(case_ref);
    request.mutable_contact()->set_name("Det. " + agency);
    request.mutable_contact()->set_phone("+16135550111");
    *request.mutable_expires_at() = ToTimestamp(absl::Now() + absl::Hours(24));
    *request.add_identifiers() = Email(email);
    v1::RegisterResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return v1::Registry::NewStub(federation_->UserChannel(agency))
        ->Register(&context, request, &response);
  }

  grpc::Status Check(const std::string& agency, const std::string& email,
                     v1::CheckResponse* response) {
    v1::CheckRequest request;
    *request.add_identifiers() = Email(email);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return v1::Deconfliction::NewStub(federation_->UserChannel(agency))
        ->Check(&context, request, response);
  }

  std::string HubConfigPath() const { return dir_.path() + "/hub.textproto"; }

  TempDir dir_;
  std::unique_ptr<TestFederation> federation_;
};

TEST_F(OperationsTest, AnAgencyJoinsByReloadsAndNoNodeRestarts) {
  const pid_t north = federation_->node("north").pid();
  const pid_t hub = federation_->hub().pid();
  grpc::Status registered =
      Register("north", "NORTH-7", "before.west@example.org");
  ASSERT_TRUE(registered.ok()) << registered.error_message();

  ASSERT_TRUE(federation_->Join("west"));
  EXPECT_THAT(federation_->Log("hub"),
              HasSubstr("configuration reloaded: 3 nodes (added: west; "
                        "removed: none)"));
  EXPECT_THAT(federation_->Log("custodian-alpha"),
              HasSubstr("configuration reloaded: 3 agencies"));

  // West sees north's case, whole; north sees west's.
  v1::CheckResponse response;
  grpc::Status status = Check("west", "Before.West@example.org", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_THAT(response.results(), SizeIs(1));
  EXPECT_TRUE(response.results(0).complete());
  ASSERT_THAT(response.results(0).hits(), SizeIs(1));
  EXPECT_EQ(response.results(0).hits(0).agency_id(), "north");

  ASSERT_TRUE(Register("west", "WEST-1", "joined@example.org").ok());
  status = Check("north", "joined@example.org", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.results(0).complete());
  ASSERT_THAT(response.results(0).hits(), SizeIs(1));
  EXPECT_EQ(response.results(0).hits(0).agency_id(), "west");

  // No process but west's is new.
  EXPECT_EQ(federation_->node("north").pid(), north);
  EXPECT_EQ(federation_->hub().pid(), hub);
  EXPECT_FALSE(federation_->node("north").Exited());
  EXPECT_FALSE(federation_->hub().Exited());
}

TEST_F(OperationsTest, ARefusedReloadKeepsTheConfigurationInForce) {
  std::ifstream in(HubConfigPath());
  const std::string good(std::istreambuf_iterator<char>(in), {});

  // A file that does not parse.
  std::ofstream(HubConfigPath()) << good << "\nnot a field\n";
  EXPECT_THAT(federation_->Reload(federation_->hub(), "hub"),
              HasSubstr("configuration refused, the one in force stays"));

  // A field that changes only with a restart.
  const std::string moved =
      absl::StrReplaceAll(good, {{federation_->HubAddress(), "127.0.0.1:1"}});
  ASSERT_NE(moved, good);
  std::ofstream(HubConfigPath()) << moved;
  EXPECT_THAT(federation_->Reload(federation_->hub(), "hub"),
              HasSubstr("listen_address changes only with a restart"));

  // A node without an agency fails validation.
  std::ofstream(HubConfigPath()) << absl::StrReplaceAll(
      good, {{"agency_id: \"north\"", "agency_id: \"\""}});
  EXPECT_THAT(federation_->Reload(federation_->hub(), "hub"),
              HasSubstr("configuration refused"));

  // The configuration in force still answers: north's check reaches ccc.
  std::ofstream(HubConfigPath()) << good;
  ASSERT_TRUE(Register("ccc", "CCC-9", "still.served@example.org").ok());
  v1::CheckResponse response;
  grpc::Status status = Check("north", "still.served@example.org", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.results(0).complete());
  ASSERT_THAT(response.results(0).hits(), SizeIs(1));
  EXPECT_EQ(response.results(0).hits(0).agency_id(), "ccc");
  EXPECT_FALSE(federation_->hub().Exited());
}

TEST_F(OperationsTest, ANodeReloadsItsHubAddressAndRefusesOtherChanges) {
  const std::string path = dir_.path() + "/north.textproto";
  std::ifstream in(path);
  const std::string good(std::istreambuf_iterator<char>(in), {});
  std::ofstream(path) << absl::StrReplaceAll(
      good, {{"default_region: \"CA\"", "default_region: \"US\""}});
  EXPECT_THAT(federation_->Reload(federation_->node("north"), "north"),
              HasSubstr("default_region changes only with a restart"));
  std::ofstream(path) << good;
  EXPECT_THAT(federation_->Reload(federation_->node("north"), "north"),
              HasSubstr("configuration reloaded: hub at "));
  v1::CheckResponse response;
  ASSERT_TRUE(Register("ccc", "CCC-10", "after.reload@example.org").ok());
  grpc::Status status = Check("north", "after.reload@example.org", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.results(0).complete());
  ASSERT_THAT(response.results(0).hits(), SizeIs(1));
}

TEST_F(OperationsTest, ServersExposeWhatAnOperatorWatchesAndLogEachCall) {
  // A node to watch go down and come back: north asks while ccc is
  // killed, then after ccc is back.
  v1::CheckResponse response;
  ASSERT_TRUE(Check("north", "watched@example.org", &response).ok());
  federation_->node("ccc").Kill();
  ASSERT_TRUE(Check("north", "watched@example.org", &response).ok());
  EXPECT_FALSE(response.results(0).complete());
  const auto scrape = [&](const std::string& name) {
    const int port = federation_->MetricsPort(name);
    EXPECT_NE(port, 0) << name;
    std::optional<Parsed> parsed = Scrape(port);
    EXPECT_TRUE(parsed.has_value()) << name;
    if (!parsed) return Parsed();
    EXPECT_THAT(parsed->malformed, IsEmpty()) << name;
    return *parsed;
  };
  Parsed hub = scrape("hub");
  EXPECT_EQ(hub.samples.at("deconfliction_hub_node_reachable{agency=\"ccc\"}"),
            0);
  EXPECT_EQ(
      hub.samples.at("deconfliction_hub_node_reachable{agency=\"north\"}"), 1);

  // Back, ccc answers once the hub's channel has reconnected (gRPC's
  // reconnect backoff: about a second).
  ASSERT_TRUE(federation_->StartNode("ccc"));
  bool complete = false;
  for (int i = 0; i < 40 && !complete; ++i) {
    if (i > 0) absl::SleepFor(absl::Milliseconds(250));
    ASSERT_TRUE(Check("north", "watched@example.org", &response).ok());
    complete = response.results(0).complete();
  }
  ASSERT_TRUE(complete);
  hub = scrape("hub");
  EXPECT_EQ(hub.samples.at("deconfliction_hub_node_reachable{agency=\"ccc\"}"),
            1);
  EXPECT_EQ(hub.types.at("deconfliction_hub_node_call_seconds"), "histogram");
  EXPECT_GE(hub.samples.at("deconfliction_hub_node_call_seconds_count{"
                           "agency=\"ccc\",method=\"LookupTokens\"}"),
            2);
  EXPECT_GE(hub.samples.at("deconfliction_hub_node_call_failures_total{"
                           "agency=\"ccc\",method=\"LookupTokens\","
                           "code=\"UNAVAILABLE\"}"),
            1);
  EXPECT_EQ(hub.samples.at(
                "deconfliction_hub_outbox{agency=\"north\",queue=\"alerts\"}"),
            0);
  EXPECT_EQ(hub.samples.at("deconfliction_hub_outbox_oldest_alert_age_seconds{"
                           "agency=\"north\"}"),
            0);
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  EXPECT_GT(hub.samples.at("deconfliction_certificate_expiry_timestamp_seconds{"
                           "file=\"cert\"}"),
            now);
  EXPECT_GT(hub.samples.at("deconfliction_certificate_expiry_timestamp_seconds{"
                           "file=\"ca\"}"),
            now);
  EXPECT_GT(hub.samples.at("deconfliction_crl_next_update_timestamp_seconds"),
            now);
  EXPECT_GT(
      hub.samples.at("deconfliction_storage_sst_bytes") +
          hub.samples.count("deconfliction_storage_pending_compaction_bytes"),
      0);
  EXPECT_EQ(hub.types.at("deconfliction_cap_refusals_total"), "counter");

  Parsed alpha = scrape("custodian-alpha");
  EXPECT_GE(alpha.samples.at("deconfliction_custodian_evaluated_elements_total{"
                             "agency=\"north\",code=\"OK\"}"),
            1);
  EXPECT_EQ(alpha.types.at("deconfliction_storage_running_compactions"),
            "gauge");
  EXPECT_GT(alpha.samples.at("deconfliction_storage_memtable_bytes"), 0);
  Parsed north = scrape("north");
  EXPECT_GT(
      north.samples.at("deconfliction_certificate_expiry_timestamp_seconds{"
                       "file=\"cert\"}"),
      now);

  // The hub logged the outage and the recovery; each call is one line
  // naming its caller, and no identifier is in any log.
  const std::string log = federation_->Log("hub");
  EXPECT_THAT(log,
              HasSubstr("component=hub msg=\"node unreachable\" "
                        "agency=ccc method=LookupTokens code=UNAVAILABLE"));
  EXPECT_THAT(log, HasSubstr("component=hub msg=\"node reachable again\" "
                             "agency=ccc out_for_s="));
  EXPECT_THAT(log, HasSubstr("component=rpc msg=call "
                             "method=/deconfliction.v1.Hub/Lookup "
                             "caller=spiffe://fed.test/agency/north/node "
                             "code=OK latency_ms="));
  EXPECT_THAT(federation_->Log("north"),
              HasSubstr("component=rpc msg=call "
                        "method=/deconfliction.v1.Deconfliction/Check "
                        "caller=spiffe://fed.test/agency/north/user/analyst "
                        "code=OK latency_ms="));
  for (const char* process : {"hub", "north", "ccc", "custodian-alpha"}) {
    EXPECT_THAT(federation_->Log(process),
                Not(HasSubstr("watched@example.org")))
        << process;
  }
}

}  // namespace
}  // namespace deconfliction
