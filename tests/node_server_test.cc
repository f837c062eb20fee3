// The node over real mutual TLS on a port chosen at run time, with
// certificates made for this test.
#include "server/node/node_server.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "api/deconfliction/v1/deconfliction.grpc.pb.h"
#include "api/deconfliction/v1/federation.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "security/identity.h"
#include "security/revocation.h"
#include "security/tls.h"
#include "server/node/alert_recovery.h"
#include "server/node/node_config.h"
#include "storage/audit_log.h"
#include "tests/health_check.h"
#include "tests/schema_fixtures.h"
#include "tests/temp_dir.h"
#include "tests/test_node.h"
#include "tests/test_pki.h"

#ifndef DECONFLICTION_NODE_BINARY
#define DECONFLICTION_NODE_BINARY \
  "server/node/deconflict-node"  // Bazel runfiles
#endif

namespace deconfliction {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kFederation[] = "fed.test";

class NodeServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pki_ = new TestPki(dir_->path() + "/pki", kFederation);
    ASSERT_TRUE(pki_->ok());
    custodians_ = new TestCustodians(pki_, {"agency-a", "agency-b"});
    ASSERT_TRUE(custodians_->Make());
    ASSERT_TRUE(custodians_->Start(dir_->path() + "/custodians"));
    ASSERT_TRUE(pki_->Node("agency-a"));
    ASSERT_TRUE(pki_->Node("agency-b"));
    ASSERT_TRUE(pki_->Hub());
    ASSERT_TRUE(pki_->User("agency-a", "alice"));
    ASSERT_TRUE(pki_->User("agency-a", "mallory"));
    ASSERT_TRUE(pki_->Revoke("user-agency-a-mallory"));
    ASSERT_TRUE(pki_->User("agency-b", "bob"));
    other_pki_ = new TestPki(dir_->path() + "/other-pki", kFederation);
    ASSERT_TRUE(other_pki_->ok());
    ASSERT_TRUE(other_pki_->User("agency-a", "eve"));
  }

  static void TearDownTestSuite() {
    delete other_pki_;
    delete custodians_;
    delete pki_;
    delete dir_;
  }

  void SetUp() override {
    config_ = TestNodeConfig(*pki_, kFederation, "agency-a", data_.path(),
                             *custodians_);
    config_.mutable_limits()->set_max_identifiers_per_request(10);
    config_.mutable_limits()->set_max_message_bytes(64 << 10);
    config_.mutable_metrics()->set_listen_address("127.0.0.1:0");
    auto server = NodeServer::Start(config_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::shared_ptr<grpc::Channel> Channel(
      const config::v1::TlsFiles& files,
      const std::string& agency = "agency-a") {
    auto credentials = MutualTlsChannelCredentials(
        files, "tls", NodeSpiffeId(kFederation, agency));
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                               *credentials);
  }

  std::string Address() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  static void WithDeadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(10));
  }

  static v1::Identifier Id(v1::IdentifierType type, const std::string& value) {
    v1::Identifier identifier;
    identifier.set_type(type);
    identifier.set_value(value);
    return identifier;
  }

  static v1::RegisterRequest Registration(const std::string& case_ref) {
    v1::RegisterRequest request;
    request.set_case_ref(case_ref);
    request.mutable_contact()->set_name("Det. A. Example");
    request.mutable_contact()->set_phone("+16135550199");
    request.set_caveat("call before acting");
    return request;
  }

  grpc::Status Register(const std::shared_ptr<grpc::Channel>& channel,
                        const v1::RegisterRequest& request,
                        v1::RegisterResponse* response) {
    grpc::ClientContext context;
    WithDeadline(&context);
    return v1::Registry::NewStub(channel)->Register(&context, request,
                                                    response);
  }

  grpc::Status Check(const std::shared_ptr<grpc::Channel>& channel,
                     const v1::CheckRequest& request,
                     v1::CheckResponse* response) {
    grpc::ClientContext context;
    WithDeadline(&context);
    return v1::Deconfliction::NewStub(channel)->Check(&context, request,
                                                      response);
  }

  grpc::Status GetCase(const std::string& case_ref, v1::Case* out) {
    grpc::ClientContext context;
    WithDeadline(&context);
    v1::GetCaseRequest request;
    request.set_case_ref(case_ref);
    return v1::Registry::NewStub(Channel(pki_->Files("user-agency-a-alice")))
        ->GetCase(&context, request, out);
  }

  static TempDir* dir_;
  static TestPki* pki_;
  static TestCustodians* custodians_;
  static TestPki* other_pki_;
  TempDir data_;
  config::v1::NodeConfig config_;
  std::unique_ptr<NodeServer> server_;
};

TempDir* NodeServerTest::dir_ = nullptr;
TestPki* NodeServerTest::pki_ = nullptr;
TestCustodians* NodeServerTest::custodians_ = nullptr;
TestPki* NodeServerTest::other_pki_ = nullptr;

TEST_F(NodeServerTest, RegisteredIdentifierFoundFromAnEquivalentSpelling) {
  auto alice = Channel(pki_->Files("user-agency-a-alice"));
  v1::RegisterRequest registration = Registration("OPS-2026-001");
  *registration.add_identifiers() =
      Id(v1::IDENTIFIER_TYPE_PHONE, "(613) 555-0100");
  *registration.add_identifiers() =
      Id(v1::IDENTIFIER_TYPE_EMAIL, "John.Smith+x@gmail.com");
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register(alice, registration, &registered).ok());
  EXPECT_EQ(registered.added(), 2u);

  v1::CheckRequest check;
  *check.add_identifiers() =
      Id(v1::IDENTIFIER_TYPE_EMAIL, "johnsmith@googlemail.com");
  *check.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "+1 613 555 0199");
  *check.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "+1-613-555-0100");
  v1::CheckResponse response;
  grpc::Status status = Check(alice, check, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.scope(), v1::CHECK_SCOPE_LOCAL);
  ASSERT_THAT(response.results(), SizeIs(3));
  ASSERT_THAT(response.results(0).hits(), SizeIs(1));
  EXPECT_EQ(response.results(0).hits(0).agency_id(), "agency-a");
  EXPECT_EQ(response.results(0).hits(0).case_ref(), "OPS-2026-001");
  EXPECT_EQ(response.results(0).hits(0).caveat(), "call before acting");
  EXPECT_THAT(response.results(1).hits(), SizeIs(0));
  EXPECT_TRUE(response.results(1).complete());
  ASSERT_THAT(response.results(2).hits(), SizeIs(1));
  EXPECT_EQ(response.results(2).canonical(), "+16135550100");
  EXPECT_EQ(response.results(2).index(), 2u);

  // A second case with the same phone sees the first as a match.
  v1::RegisterRequest second = Registration("OPS-2026-002");
  *second.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "6135550100");
  ASSERT_TRUE(Register(alice, second, &registered).ok());
  ASSERT_THAT(registered.matches(), SizeIs(1));
  ASSERT_THAT(registered.matches(0).hits(), SizeIs(1));
  EXPECT_EQ(registered.matches(0).hits(0).case_ref(), "OPS-2026-001");

  // Without a hub too, every call is audited with its caller and each
  // identifier as canonicalized, in request order.
  std::vector<storage::v1::AuditRecord> records;
  ASSERT_TRUE(ExportAudit(config_.data_dir(), AuditKeyFile(config_.data_dir()),
                          [&](const storage::v1::AuditRecord& record) {
                            records.push_back(record);
                          })
                  .ok());
  ASSERT_THAT(records, SizeIs(3));
  const storage::v1::AuditRecord& checked = records[1];
  EXPECT_EQ(checked.operation(), "/deconfliction.v1.Deconfliction/Check");
  EXPECT_EQ(checked.caller(), UserSpiffeId(kFederation, "agency-a", "alice"));
  EXPECT_EQ(checked.hits(), 2u);
  ASSERT_THAT(checked.identifiers(), SizeIs(3));
  EXPECT_EQ(checked.identifiers(0).type(), v1::IDENTIFIER_TYPE_EMAIL);
  EXPECT_EQ(checked.identifiers(0).canonical(), "johnsmith@gmail.com");
  EXPECT_EQ(checked.identifiers(2).canonical(), "+16135550100");
  EXPECT_EQ(records[2].operation(), "/deconfliction.v1.Registry/Register");
  EXPECT_EQ(records[2].purpose(), v1::LOOKUP_PURPOSE_REGISTER);
  ASSERT_THAT(records[2].identifiers(), SizeIs(1));
  EXPECT_EQ(records[2].identifiers(0).canonical(), "+16135550100");
}

TEST_F(NodeServerTest, MetricsCountTokensAndTheCustodiansAnswers) {
  auto alice = Channel(pki_->Files("user-agency-a-alice"));
  v1::CheckRequest check;
  *check.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "613-555-0142");
  v1::CheckResponse response;
  ASSERT_TRUE(Check(alice, check, &response).ok());
  ASSERT_TRUE(Check(alice, check, &response).ok());  // now from the cache
  ASSERT_GT(server_->metrics_port(), 0);
  httplib::Client scraper("127.0.0.1", server_->metrics_port());
  scraper.set_read_timeout(5);
  auto scraped = scraper.Get("/metrics");
  ASSERT_TRUE(scraped);
  ASSERT_EQ(scraped->status, 200);
  EXPECT_THAT(scraped->body,
              HasSubstr("\ndeconfliction_tokens_total{source=\"cache\"} 1\n"));
  EXPECT_THAT(
      scraped->body,
      HasSubstr("\ndeconfliction_tokens_total{source=\"custodians\"} 1\n"));
  // At least the threshold of custodians answered the first check validly
  // (the third answer may still be on its way, or checked as well), and
  // none wrongly.
  int valid = 0;
  for (size_t at = 0; (at = scraped->body.find("outcome=\"valid\"} 1\n", at)) !=
                      std::string::npos;
       ++at) {
    ++valid;
  }
  EXPECT_GE(valid, 2) << scraped->body;
  EXPECT_THAT(scraped->body, Not(HasSubstr("outcome=\"invalid\"")));
  EXPECT_THAT(scraped->body, Not(HasSubstr("outcome=\"unanswered\"")));
  // The CRL's expiry, for an alert before it lapses.
  EXPECT_THAT(scraped->body,
              HasSubstr("\ndeconfliction_crl_next_update_timestamp_seconds "));
  // Every server's own: its build, and its calls by method and code, timed.
  EXPECT_THAT(scraped->body,
              HasSubstr("\ndeconfliction_build_info{version=\""));
  EXPECT_THAT(scraped->body,
              HasSubstr("\ndeconfliction_rpc_server_calls_total{method=\"/"
                        "deconfliction.v1.Deconfliction/Check\",code=\"OK\"} "
                        "2\n"));
  EXPECT_THAT(scraped->body,
              HasSubstr("\ndeconfliction_rpc_server_call_seconds_count{method="
                        "\"/deconfliction.v1.Deconfliction/Check\"} 2\n"));
  // Counts only: never an identifier.
  EXPECT_THAT(scraped->body, Not(HasSubstr("613")));
}

TEST_F(NodeServerTest, PlaintextClientIsRefused) {
  auto channel =
      grpc::CreateChannel(Address(), grpc::InsecureChannelCredentials());
  v1::CheckRequest check;
  *check.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550100");
  v1::CheckResponse response;
  EXPECT_EQ(Check(channel, check, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(NodeServerTest, ClientCertificateFromAnotherCaIsRefused) {
  // Eve trusts the real CA itself; this project's own credentials would not
  // even present her certificate (it does not chain to that CA).
  config::v1::TlsFiles eve = other_pki_->Files("user-agency-a-eve");
  eve.set_ca_file(pki_->dir() + "/ca.pem");
  auto channel = grpc::CreateChannel(Address(), UncheckedTlsCredentials(eve));
  v1::CheckRequest check;
  *check.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550100");
  v1::CheckResponse response;
  EXPECT_EQ(Check(channel, check, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(NodeServerTest, RevokedClientCertificateIsRefused) {
  v1::CheckRequest check;
  *check.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550100");
  v1::CheckResponse response;
  grpc::Status status =
      Check(Channel(pki_->Files("user-agency-a-mallory")), check, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("mallory"));
  EXPECT_THAT(status.error_message(), HasSubstr("is revoked"));
}

TEST_F(NodeServerTest, ACertificateRevokedWhileServingIsRefusedAtOnce) {
  ASSERT_TRUE(pki_->User("agency-a", "trudy"));
  auto trudy = Channel(pki_->Files("user-agency-a-trudy"));
  v1::CheckRequest check;
  *check.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550100");
  v1::CheckResponse response;
  ASSERT_TRUE(Check(trudy, check, &response).ok());
  ASSERT_TRUE(pki_->Revoke("user-agency-a-trudy"));
  // On the connection already open, within the poll interval, with no
  // restart.
  const absl::Time revoked = absl::Now();
  grpc::Status status;
  while (absl::Now() - revoked < 3 * kRevocationPollInterval) {
    status = Check(trudy, check, &response);
    if (!status.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("is revoked"));
  // The others are still served.
  EXPECT_TRUE(
      Check(Channel(pki_->Files("user-agency-a-alice")), check, &response)
          .ok());
}

TEST_F(NodeServerTest, ClientRefusesANodeWithTheWrongIdentity) {
  v1::CheckRequest check;
  *check.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550100");
  v1::CheckResponse response;
  // Alice expects agency-b's node but reaches agency-a's.
  EXPECT_EQ(Check(Channel(pki_->Files("user-agency-a-alice"), "agency-b"),
                  check, &response)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(NodeServerTest, AnotherAgencysUserIsDenied) {
  auto bob = Channel(pki_->Files("user-agency-b-bob"));
  v1::RegisterRequest registration = Registration("B-1");
  *registration.add_identifiers() =
      Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550100");
  v1::RegisterResponse registered;
  grpc::Status status = Register(bob, registration, &registered);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("agency-b/user/bob"));
  v1::CheckRequest check = {};
  *check.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550100");
  v1::CheckResponse response;
  EXPECT_EQ(Check(bob, check, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(NodeServerTest, MalformedAlertsFromTheHubAreRefusedNamingTheField) {
  auto deliver = [&](const v1::AlertDelivery& alert) {
    v1::DeliverAlertsRequest request;
    *request.add_alerts() = alert;
    grpc::ClientContext context;
    WithDeadline(&context);
    v1::DeliverAlertsResponse response;
    return v1::NodeFederation::NewStub(Channel(pki_->Files("hub")))
        ->DeliverAlerts(&context, request, &response);
  };
  v1::AlertDelivery sound;
  sound.set_alert_id("hub-test-1");
  sound.set_kind(v1::ALERT_KIND_REGISTRATION_MATCH);
  sound.set_token(std::string(32, 'q'));
  sound.set_other_agency_id("agency-b");
  sound.mutable_other_contact()->set_name("Det. B");
  struct Bad {
    const char* field;
    std::function<void(v1::AlertDelivery*)> spoil;
  };
  const std::vector<Bad> bad = {
      {"alerts[0].kind",
       [](v1::AlertDelivery* a) { a->set_kind(v1::ALERT_KIND_UNSPECIFIED); }},
      {"alerts[0].kind",
       [](v1::AlertDelivery* a) {
         a->set_kind(static_cast<v1::AlertKind>(77));
       }},
      {"alerts[0].token",
       [](v1::AlertDelivery* a) { a->set_token(std::string(31, 'q')); }},
      {"alerts[0].other_caveat: control character",
       [](v1::AlertDelivery* a) { a->set_other_caveat("\x1b[2Jno hit"); }},
      {"alerts[0].other_contact.name: longer than 512",
       [](v1::AlertDelivery* a) {
         a->mutable_other_contact()->set_name(std::string(3000, 'n'));
       }},
      {"alerts[0].alert_id", [](v1::AlertDelivery* a) { a->clear_alert_id(); }},
      {"alerts[0].observed",
       [](v1::AlertDelivery* a) {
         a->mutable_observed()->mutable_start()->set_seconds(100);
         a->mutable_observed()->mutable_end()->set_seconds(50);
       }},
  };
  for (const Bad& spoiled : bad) {
    v1::AlertDelivery alert = sound;
    spoiled.spoil(&alert);
    grpc::Status status = deliver(alert);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << spoiled.field;
    EXPECT_THAT(status.error_message(), HasSubstr(spoiled.field));
  }
  EXPECT_TRUE(deliver(sound).ok());
}

TEST_F(NodeServerTest, OnlyTheHubLooksUpTokens) {
  v1::TokenLookupRequest request;
  request.add_queries()->set_token(std::string(32, 'x'));
  auto lookup = [&](const config::v1::TlsFiles& files) {
    grpc::ClientContext context;
    WithDeadline(&context);
    v1::TokenLookupResponse response;
    return v1::NodeFederation::NewStub(Channel(files))
        ->LookupTokens(&context, request, &response);
  };
  EXPECT_TRUE(lookup(pki_->Files("hub")).ok());
  EXPECT_EQ(lookup(pki_->Files("user-agency-a-alice")).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(lookup(pki_->Files("node-agency-b")).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // And the hub cannot read the agency's cases.
  v1::RegisterRequest registration = Registration("H-1");
  *registration.add_identifiers() =
      Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550100");
  v1::RegisterResponse registered;
  EXPECT_EQ(Register(Channel(pki_->Files("hub")), registration, &registered)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(NodeServerTest, BadIdentifierIsRejectedWithItsFieldAndNothingIsWritten) {
  auto alice = Channel(pki_->Files("user-agency-a-alice"));
  v1::RegisterRequest registration = Registration("OPS-BAD");
  *registration.add_identifiers() =
      Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550100");
  *registration.add_identifiers() =
      Id(v1::IDENTIFIER_TYPE_IMEI, "490154203237519");
  v1::RegisterResponse registered;
  grpc::Status status = Register(alice, registration, &registered);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("identifiers[1]"));
  EXPECT_THAT(status.error_message(), HasSubstr("IMEI"));
  EXPECT_THAT(status.error_message(), HasSubstr("Luhn"));
  v1::Case c;
  EXPECT_EQ(GetCase("OPS-BAD", &c).error_code(), grpc::StatusCode::NOT_FOUND);

  registration = Registration("OPS-BAD");
  registration.mutable_contact()->clear_name();
  *registration.add_identifiers() =
      Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550100");
  status = Register(alice, registration, &registered);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("contact.name"));
}

TEST_F(NodeServerTest, ControlCharactersInFreeTextAreRefusedNamingTheField) {
  auto alice = Channel(pki_->Files("user-agency-a-alice"));
  struct Hostile {
    const char* field;
    std::function<void(v1::RegisterRequest*)> set;
  };
  const std::vector<Hostile> cases = {
      {"contact.name",
       [](v1::RegisterRequest* r) {
         r->mutable_contact()->set_name("Det. X\x1b[2J\x1b[H");
       }},
      {"contact.unit",
       [](v1::RegisterRequest* r) { r->mutable_contact()->set_unit("a\ab"); }},
      {"caveat",
       [](v1::RegisterRequest* r) { r->set_caveat("ok\nno hit   phone:1"); }},
      {"contact.email",
       [](v1::RegisterRequest* r) {
         r->mutable_contact()->set_email(std::string("x@y\0z", 5));
       }},
      {"caveat",
       [](v1::RegisterRequest* r) {
         r->set_caveat(
             "\xe2\x80\xae"
             "evil");
       }},
  };
  for (const Hostile& hostile : cases) {
    v1::RegisterRequest registration = Registration("OPS-HOSTILE");
    *registration.add_identifiers() =
        Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550177");
    hostile.set(&registration);
    v1::RegisterResponse registered;
    grpc::Status status = Register(alice, registration, &registered);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << hostile.field;
    EXPECT_THAT(status.error_message(),
                HasSubstr(std::string(hostile.field) + ": control character"));
  }
  v1::Case c;
  EXPECT_EQ(GetCase("OPS-HOSTILE", &c).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(NodeServerTest, AHugeDefaultRegionIsRefusedWithAShortEcho) {
  auto alice = Channel(pki_->Files("user-agency-a-alice"));
  v1::CheckRequest check;
  *check.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "6135550100");
  check.set_default_region(std::string(60000, 'Q'));  // under the 64 KiB limit
  v1::CheckResponse response;
  grpc::Status status = Check(alice, check, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("default_region"));
  EXPECT_LT(status.error_message().size(), 200u);
  check.set_default_region("\x1b[2J");
  status = Check(alice, check, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), Not(HasSubstr("\x1b")));
  check.set_default_region("ca");
  EXPECT_TRUE(Check(alice, check, &response).ok());
}

TEST_F(NodeServerTest, OversizedBatchIsRejectedAndNothingIsWritten) {
  auto alice = Channel(pki_->Files("user-agency-a-alice"));
  v1::RegisterRequest registration = Registration("OPS-BIG");
  for (int i = 0; i < 11; ++i) {
    *registration.add_identifiers() =
        Id(v1::IDENTIFIER_TYPE_PHONE, absl::StrCat("+1613555", 1000 + i));
  }
  v1::RegisterResponse registered;
  grpc::Status status = Register(alice, registration, &registered);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("exceeds the limit of 10"));
  v1::Case c;
  EXPECT_EQ(GetCase("OPS-BIG", &c).error_code(), grpc::StatusCode::NOT_FOUND);

  // Past the message-size limit gRPC itself refuses the request.
  v1::RegisterRequest huge = Registration("OPS-HUGE");
  *huge.add_identifiers() =
      Id(v1::IDENTIFIER_TYPE_EMAIL, std::string(100 << 10, 'a') + "@x.org");
  status = Register(alice, huge, &registered);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(GetCase("OPS-HUGE", &c).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(NodeServerTest, CloseCaseStopsMatches) {
  auto alice = Channel(pki_->Files("user-agency-a-alice"));
  v1::RegisterRequest registration = Registration("OPS-C");
  *registration.add_identifiers() =
      Id(v1::IDENTIFIER_TYPE_MAC_ADDRESS, "00:1a:2b:3c:4d:5e");
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register(alice, registration, &registered).ok());
  grpc::ClientContext context;
  WithDeadline(&context);
  v1::CloseCaseRequest close;
  close.set_case_ref("OPS-C");
  v1::CloseCaseResponse closed;
  ASSERT_TRUE(
      v1::Registry::NewStub(alice)->CloseCase(&context, close, &closed).ok());
  v1::CheckRequest check;
  *check.add_identifiers() =
      Id(v1::IDENTIFIER_TYPE_MAC_ADDRESS, "001a.2b3c.4d5e");
  v1::CheckResponse response;
  ASSERT_TRUE(Check(alice, check, &response).ok());
  EXPECT_THAT(response.results(0).hits(), SizeIs(0));
  v1::Case c;
  ASSERT_TRUE(GetCase("OPS-C", &c).ok());
  EXPECT_EQ(c.state(), v1::CASE_STATE_CLOSED);
  EXPECT_EQ(c.created_by(), "spiffe://fed.test/agency/agency-a/user/alice");
}

TEST_F(NodeServerTest, CheckBulkAnswersEveryChunkInOrder) {
  auto alice = Channel(pki_->Files("user-agency-a-alice"));
  v1::RegisterRequest registration = Registration("OPS-BULK");
  *registration.add_identifiers() =
      Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550107");
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register(alice, registration, &registered).ok());

  grpc::ClientContext context;
  WithDeadline(&context);
  auto stream = v1::Deconfliction::NewStub(alice)->CheckBulk(&context);
  constexpr int kChunks = 5;
  for (int chunk = 0; chunk < kChunks; ++chunk) {
    v1::CheckRequest request;
    for (int i = 0; i < 10; ++i) {
      *request.add_identifiers() =
          Id(v1::IDENTIFIER_TYPE_PHONE,
             absl::StrFormat("+1613555%04d", 100 + chunk * 10 + i));
    }
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  uint64_t expected_index = 0;
  int hits = 0;
  v1::CheckResponse response;
  while (stream->Read(&response)) {
    for (const v1::CheckResult& result : response.results()) {
      EXPECT_EQ(result.index(), expected_index++);
      hits += result.hits_size();
      if (result.hits_size() > 0) {
        EXPECT_EQ(result.canonical(), "+16135550107");
      }
    }
  }
  grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(expected_index, kChunks * 10u);
  EXPECT_EQ(hits, 1);
}

// Chunks are checked together, but a bad one ends the stream as if they
// had been checked one at a time: every answer before it, in order, then
// its error.
TEST_F(NodeServerTest, ABadBulkChunkEndsTheStreamAfterTheAnswersBeforeIt) {
  auto alice = Channel(pki_->Files("user-agency-a-alice"));
  grpc::ClientContext context;
  WithDeadline(&context);
  auto stream = v1::Deconfliction::NewStub(alice)->CheckBulk(&context);
  constexpr int kChunks = 6;
  constexpr int kBad = 3;
  for (int chunk = 0; chunk < kChunks; ++chunk) {
    v1::CheckRequest request;
    for (int i = 0; i < 10; ++i) {
      *request.add_identifiers() =
          Id(v1::IDENTIFIER_TYPE_PHONE,
             chunk == kBad && i == 4
                 ? std::string("not a phone")
                 : absl::StrFormat("+1613555%04d", 100 + chunk * 10 + i));
    }
    if (!stream->Write(request)) break;  // the server may have finished
  }
  stream->WritesDone();
  uint64_t expected_index = 0;
  v1::CheckResponse response;
  while (stream->Read(&response)) {
    for (const v1::CheckResult& result : response.results()) {
      EXPECT_EQ(result.index(), expected_index++);
    }
  }
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("identifiers[4]"));
  EXPECT_EQ(expected_index, kBad * 10u);
}

TEST_F(NodeServerTest, HealthIsServingToAnyFederationCertificate) {
  grpc::GenericStub stub(Channel(pki_->Files("user-agency-b-bob")));
  // The whole server, and each of its services by name.
  for (const std::string service :
       {"", "deconfliction.v1.Registry", "deconfliction.v1.Deconfliction",
        "deconfliction.v1.NodeFederation", "deconfliction.v1.Alerts"}) {
    std::string bytes;
    grpc::Status status = CheckHealth(stub, service, &bytes);
    ASSERT_TRUE(status.ok()) << service << ": " << status.error_message();
    EXPECT_EQ(bytes, kServing) << service;
  }
  std::string bytes;
  EXPECT_EQ(CheckHealth(stub, "deconfliction.v1.Nothing", &bytes).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(NodeServerTest, StartRefusesACertificateOfAnotherNode) {
  config::v1::NodeConfig config = config_;
  *config.mutable_tls() = pki_->Files("node-agency-b");
  config.set_data_dir(data_.path() + "/db2");
  auto server = NodeServer::Start(config);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(server.status().message()),
              HasSubstr("tls.cert_file"));
}

TEST_F(NodeServerTest, ASecondNodeOnAServedPortIsRefused) {
  config::v1::NodeConfig config = config_;
  config.set_listen_address(Address());
  config.set_data_dir(data_.path() + "/db2");
  auto impostor = NodeServer::Start(config);
  EXPECT_EQ(impostor.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(impostor.status().message()),
              HasSubstr("listen_address"));
}

TEST_F(NodeServerTest, AnHmacEraDatabaseIsRefusedUntilRetokenized) {
  v1::RegisterRequest request = Registration("OPS-OLD");
  *request.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "613-555-0142");
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register(Channel(pki_->Files("user-agency-a-alice")), request,
                       &registered)
                  .ok());
  server_->Shutdown(absl::ZeroDuration());
  server_.reset();
  ASSERT_TRUE(RewriteAsSchema(config_.data_dir(), 1));
  auto refused = NodeServer::Start(config_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("--retokenize"));

  // The command the message names, with the custodians (given time: on a
  // loaded machine they share its cores with everything else).
  config_.mutable_token_key()->set_timeout_ms(10000);
  const std::string config_file = data_.path() + "/node.textproto";
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(config_, &text));
  std::ofstream(config_file) << text;
  const std::string command =
      absl::StrCat(DECONFLICTION_NODE_BINARY, " --config=", config_file,
                   " --retokenize 2> ", data_.path(), "/retokenize.log");
  ASSERT_EQ(std::system(command.c_str()), 0);

  auto server = NodeServer::Start(config_);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  v1::CheckRequest check;
  *check.add_identifiers() = Id(v1::IDENTIFIER_TYPE_PHONE, "+1 613 555 0142");
  v1::CheckResponse response;
  ASSERT_TRUE(
      Check(Channel(pki_->Files("user-agency-a-alice")), check, &response)
          .ok());
  ASSERT_THAT(response.results(0).hits(), SizeIs(1));
  EXPECT_EQ(response.results(0).hits(0).case_ref(), "OPS-OLD");
}

// A restored node takes from the hub only cursors after its own log and
// within the last the hub reports, which must be a cursor a node could
// have handed out.
TEST(AlertRecoveryTest, TheHubsCursorsAreCheckedBeforeAnyIsStored) {
  v1::RecoverAlertsResponse page;
  page.set_last_cursor(9);
  page.add_alerts()->set_cursor(5);
  page.add_alerts()->set_cursor(9);
  EXPECT_TRUE(CheckRecoveredCursors(page, 4).ok());
  EXPECT_EQ(CheckRecoveredCursors(page, 5).code(),
            absl::StatusCode::kInvalidArgument);  // 5 is the node's own
  page.add_alerts()->set_cursor(10);              // beyond the last
  EXPECT_THAT(std::string(CheckRecoveredCursors(page, 4).message()),
              HasSubstr("alerts[2].cursor"));
  page.clear_alerts();
  page.set_last_cursor(UINT64_MAX);  // would wrap the next cursor to 0
  EXPECT_EQ(CheckRecoveredCursors(page, 4).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace deconfliction
