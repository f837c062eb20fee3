// The federation as separate processes over real mutual TLS on loopback: a
// hub, three custodians of the token key (any two make a token) and four
// agency nodes (one of them the coordination centre's own, one with a small
// query cap), ports chosen at run time.
#include <grpcpp/generic/generic_stub.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "api/deconfliction/keys/v1/keys.pb.h"
#include "api/deconfliction/v1/deconfliction.grpc.pb.h"
#include "api/deconfliction/v1/federation.grpc.pb.h"
#include "api/timestamps.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/audit_log.h"
#include "storage/column_families.h"
#include "storage/database.h"
#include "storage/keys.h"
#include "tests/temp_dir.h"
#include "tests/test_federation.h"

#ifndef DECONFLICTION_CLI
#define DECONFLICTION_CLI "client/deconflict"  // Bazel runfiles path
#endif
#ifndef DECONFLICTION_AUDIT_BINARY
#define DECONFLICTION_AUDIT_BINARY "audit/deconflict-audit"  // Bazel runfiles
#endif

namespace deconfliction {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class FederationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    FederationOptions options;
    options.agencies = {"north", "south", "ccc", "capped"};
    config::v1::QueryCap cap;
    cap.set_agency_id("capped");
    cap.set_per_minute(5);
    options.caps.push_back(cap);
    options.common_identifiers.push_back(
        Id(v1::IDENTIFIER_TYPE_PHONE, "+1 800 555 0199"));
    federation_ = new TestFederation(dir_->path(), options);
    ASSERT_TRUE(federation_->Start());
  }
  static void TearDownTestSuite() {
    delete federation_;
    delete dir_;
  }

  static v1::Identifier Id(v1::IdentifierType type, const std::string& value) {
    v1::Identifier identifier;
    identifier.set_type(type);
    identifier.set_value(value);
    return identifier;
  }

  static grpc::Status Register(const std::string& agency,
                               const std::string& case_ref,
                               std::vector<v1::Identifier> identifiers,
                               v1::RegisterResponse* response,
                               v1::Sharing sharing = v1::SHARING_POINTER,
                               absl::Duration expires_in = absl::Hours(24)) {
    v1::RegisterRequest request;
    request.set_case_ref(case_ref);
    request.mutable_contact()->set_name("Det. " + agency);
    request.mutable_contact()->set_phone("+16135550111");
    request.set_caveat("caveat of " + agency);
    request.set_sharing(sharing);
    *request.mutable_expires_at() = ToTimestamp(absl::Now() + expires_in);
    for (auto& identifier : identifiers) {
      *request.add_identifiers() = std::move(identifier);
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return v1::Registry::NewStub(federation_->UserChannel(agency))
        ->Register(&context, request, response);
  }

  static grpc::Status Check(
      const std::string& agency, std::vector<v1::Identifier> identifiers,
      v1::CheckResponse* response,
      std::chrono::seconds deadline = std::chrono::seconds(10)) {
    v1::CheckRequest request;
    for (auto& identifier : identifiers) {
      *request.add_identifiers() = std::move(identifier);
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    return v1::Deconfliction::NewStub(federation_->UserChannel(agency))
        ->Check(&context, request, response);
  }

  // A bulk check by `capped` (defined with the tests that use it).
  static int CappedBulkCheck(int rows, const std::string& flags,
                             std::string* output);

  static TempDir* dir_;
  static TestFederation* federation_;
};

TempDir* FederationTest::dir_ = nullptr;
TestFederation* FederationTest::federation_ = nullptr;

TEST_F(FederationTest, CrossAgencyHitFromADifferentlyWrittenIdentifier) {
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register("south", "SOUTH-1",
                       {Id(v1::IDENTIFIER_TYPE_PHONE, "(613) 555-0170"),
                        Id(v1::IDENTIFIER_TYPE_EMAIL, "Suspect.One@gmail.com")},
                       &registered)
                  .ok());
  v1::CheckResponse response;
  grpc::Status status =
      Check("north",
            {Id(v1::IDENTIFIER_TYPE_PHONE, "+1 613 555 0170"),
             Id(v1::IDENTIFIER_TYPE_EMAIL, "suspectone+x@googlemail.com")},
            &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.scope(), v1::CHECK_SCOPE_FEDERATION);
  for (const v1::CheckResult& result : response.results()) {
    EXPECT_TRUE(result.complete());
    ASSERT_THAT(result.hits(), SizeIs(1));
    EXPECT_EQ(result.hits(0).agency_id(), "south");
    EXPECT_EQ(result.hits(0).contact().name(), "Det. south");
    EXPECT_EQ(result.hits(0).caveat(), "caveat of south");
    EXPECT_TRUE(result.hits(0).case_ref().empty());  // not shared
  }
  // And the registration itself reports the match across agencies.
  ASSERT_TRUE(Register("ccc", "CCC-1",
                       {Id(v1::IDENTIFIER_TYPE_PHONE, "613.555.0170")},
                       &registered)
                  .ok());
  ASSERT_THAT(registered.matches(), SizeIs(1));
  ASSERT_THAT(registered.matches(0).hits(), SizeIs(1));
  EXPECT_EQ(registered.matches(0).hits(0).agency_id(), "south");
}

TEST_F(FederationTest, NoHitForAnIdentifierRegisteredNowhere) {
  v1::CheckResponse response;
  ASSERT_TRUE(Check("north",
                    {Id(v1::IDENTIFIER_TYPE_IMEI, "35-209900-176148-1")},
                    &response)
                  .ok());
  ASSERT_THAT(response.results(), SizeIs(1));
  EXPECT_THAT(response.results(0).hits(), IsEmpty());
  EXPECT_TRUE(response.results(0).complete());
  EXPECT_THAT(response.results(0).unanswered(), IsEmpty());
}

TEST_F(FederationTest, ClosedAndExpiredEntriesAreNotReported) {
  v1::RegisterResponse registered;
  ASSERT_TRUE(
      Register("south", "SOUTH-CLOSED",
               {Id(v1::IDENTIFIER_TYPE_MAC_ADDRESS, "00:11:22:33:44:55")},
               &registered)
          .ok());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  v1::CloseCaseRequest close;
  close.set_case_ref("SOUTH-CLOSED");
  v1::CloseCaseResponse closed;
  ASSERT_TRUE(v1::Registry::NewStub(federation_->UserChannel("south"))
                  ->CloseCase(&context, close, &closed)
                  .ok());
  v1::CheckResponse response;
  ASSERT_TRUE(Check("north",
                    {Id(v1::IDENTIFIER_TYPE_MAC_ADDRESS, "0011.2233.4455")},
                    &response)
                  .ok());
  EXPECT_THAT(response.results(0).hits(), IsEmpty());

  // An entry that expires in a second stops matching once it has expired.
  ASSERT_TRUE(
      Register("south", "SOUTH-EXPIRING",
               {Id(v1::IDENTIFIER_TYPE_MAC_ADDRESS, "00:11:22:33:44:66")},
               &registered, v1::SHARING_POINTER, absl::Seconds(1))
          .ok());
  ASSERT_TRUE(Check("north",
                    {Id(v1::IDENTIFIER_TYPE_MAC_ADDRESS, "001122334466")},
                    &response)
                  .ok());
  EXPECT_THAT(response.results(0).hits(), SizeIs(1));
  bool expired = false;
  for (int i = 0; i < 100 && !expired; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(Check("north",
                      {Id(v1::IDENTIFIER_TYPE_MAC_ADDRESS, "001122334466")},
                      &response)
                    .ok());
    expired = response.results(0).hits().empty();
  }
  EXPECT_TRUE(expired);
}

// Registers `value` in north and south, makes ccc fail with `signal`, and
// checks that north still gets south's hit, marked incomplete naming ccc.
void ExpectPartialAnswer(TestFederation* federation, int signal,
                         const std::string& value, grpc::StatusCode code) {
  v1::RegisterResponse registered;
  v1::RegisterRequest request;
  request.set_case_ref("PARTIAL-" + value);
  request.mutable_contact()->set_name("Det. south");
  request.mutable_contact()->set_phone("+16135550111");
  *request.add_identifiers() = v1::Identifier();
  request.mutable_identifiers(0)->set_type(v1::IDENTIFIER_TYPE_USERNAME);
  request.mutable_identifiers(0)->set_value(value);
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    ASSERT_TRUE(v1::Registry::NewStub(federation->UserChannel("south"))
                    ->Register(&context, request, &registered)
                    .ok());
  }
  federation->node("ccc").Signal(signal);
  v1::CheckRequest check;
  *check.add_identifiers() = request.identifiers(0);
  v1::CheckResponse response;
  grpc::ClientContext context;
  const auto deadline = std::chrono::seconds(8);
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  absl::Time start = absl::Now();
  grpc::Status status =
      v1::Deconfliction::NewStub(federation->UserChannel("north"))
          ->Check(&context, check, &response);
  absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_LT(took, absl::Seconds(8));
  const v1::CheckResult& result = response.results(0);
  EXPECT_FALSE(result.complete());
  ASSERT_THAT(result.hits(), SizeIs(1));
  EXPECT_EQ(result.hits(0).agency_id(), "south");
  ASSERT_THAT(result.unanswered(), SizeIs(1));
  EXPECT_EQ(result.unanswered(0).agency_id(), "ccc");
  EXPECT_EQ(result.unanswered(0).code(), static_cast<int>(code));
}

TEST_F(FederationTest, KilledNodeGivesAPartialAnswerWithTheOtherHits) {
  ExpectPartialAnswer(federation_, SIGKILL, "x:killed_node_case",
                      grpc::StatusCode::UNAVAILABLE);
  federation_->node("ccc").Kill();
  ASSERT_TRUE(federation_->StartNode("ccc"));
  // Back: the next answer is complete again (the hub reconnects).
  v1::CheckResponse response;
  bool complete = false;
  for (int i = 0; i < 50 && !complete; ++i) {
    ASSERT_TRUE(Check("north",
                      {Id(v1::IDENTIFIER_TYPE_USERNAME, "x:killed_node_case")},
                      &response)
                    .ok());
    complete = response.results(0).complete();
    if (!complete) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(complete);
}

TEST_F(FederationTest, HungNodeGivesAPartialAnswerWithinTheDeadline) {
  ExpectPartialAnswer(federation_, SIGSTOP, "x:hung_node_case",
                      grpc::StatusCode::DEADLINE_EXCEEDED);
  // Found hung at its deadline (node_timeout_ms, 1500 ms here): the next
  // lookups ask it with hung_node_timeout_ms (500 ms), and it is still
  // named in their answers.
  auto check = [&](v1::CheckResponse* response) {
    const absl::Time start = absl::Now();
    EXPECT_TRUE(Check("north",
                      {Id(v1::IDENTIFIER_TYPE_USERNAME, "x:hung_node_case")},
                      response)
                    .ok());
    return absl::Now() - start;
  };
  for (int i = 0; i < 3; ++i) {
    v1::CheckResponse response;
    EXPECT_LT(check(&response), absl::Milliseconds(1400));
    ASSERT_THAT(response.results(0).unanswered(), SizeIs(1));
    EXPECT_EQ(response.results(0).unanswered(0).agency_id(), "ccc");
    EXPECT_THAT(response.results(0).hits(), SizeIs(1));
  }
  // Resumed: complete again as soon as it answers within that.
  federation_->node("ccc").Signal(SIGCONT);
  bool complete = false;
  for (int i = 0; i < 50 && !complete; ++i) {
    v1::CheckResponse response;
    check(&response);
    complete = response.results(0).complete();
  }
  EXPECT_TRUE(complete);
}

TEST_F(FederationTest, OneCustodianDownLeavesAnswersComplete) {
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register("south", "SOUTH-CUSTODIANS-1",
                       {Id(v1::IDENTIFIER_TYPE_PHONE, "+1 613 555 0401")},
                       &registered)
                  .ok());
  // gamma hangs: alpha and beta make the token, without waiting for it.
  federation_->custodian("gamma").Signal(SIGSTOP);
  v1::CheckResponse response;
  const absl::Time start = absl::Now();
  const grpc::Status status = Check(
      "north", {Id(v1::IDENTIFIER_TYPE_PHONE, "613-555-0401")}, &response);
  const absl::Duration took = absl::Now() - start;
  federation_->custodian("gamma").Signal(SIGCONT);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_LT(took, absl::Seconds(2));  // less than the custodians' timeout
  ASSERT_THAT(response.results(), SizeIs(1));
  EXPECT_TRUE(response.results(0).complete());
  EXPECT_THAT(response.results(0).unanswered(), IsEmpty());
  ASSERT_THAT(response.results(0).hits(), SizeIs(1));
  EXPECT_EQ(response.results(0).hits(0).agency_id(), "south");
}

TEST_F(FederationTest, BelowTheThresholdAnswersNameTheCustodians) {
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register("south", "SOUTH-CUSTODIANS-2",
                       {Id(v1::IDENTIFIER_TYPE_PHONE, "+1 613 555 0402")},
                       &registered)
                  .ok());
  // alpha is down (refused at once), beta hangs (the custodians' timeout):
  // gamma alone cannot make a token.
  federation_->custodian("alpha").Terminate();
  federation_->custodian("beta").Signal(SIGSTOP);
  v1::CheckResponse checked;
  const grpc::Status check =
      Check("north", {Id(v1::IDENTIFIER_TYPE_PHONE, "613-555-0402")}, &checked);
  v1::RegisterResponse awaiting;
  const grpc::Status register_status =
      Register("north", "NORTH-CUSTODIANS-2",
               {Id(v1::IDENTIFIER_TYPE_PHONE, "613-555-0402")}, &awaiting);
  federation_->custodian("beta").Signal(SIGCONT);
  ASSERT_TRUE(federation_->StartCustodian("alpha"));

  ASSERT_TRUE(check.ok()) << check.error_message();
  ASSERT_THAT(checked.results(), SizeIs(1));
  const v1::CheckResult& result = checked.results(0);
  EXPECT_FALSE(result.complete());
  EXPECT_THAT(result.hits(), IsEmpty());
  ASSERT_THAT(result.unanswered(), SizeIs(2));
  EXPECT_EQ(result.unanswered(0).agency_id(), "custodian/alpha");
  EXPECT_EQ(result.unanswered(0).code(),
            static_cast<int>(grpc::StatusCode::UNAVAILABLE));
  EXPECT_EQ(result.unanswered(1).agency_id(), "custodian/beta");
  // Hung before the node had a connection to it, the handshake fails;
  // after, the call runs out of time.
  EXPECT_THAT(result.unanswered(1).code(),
              AnyOf(static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED),
                    static_cast<int>(grpc::StatusCode::UNAVAILABLE)));
  // The registration is stored, awaiting its token; its answer says so and
  // names the custodians.
  ASSERT_TRUE(register_status.ok()) << register_status.error_message();
  EXPECT_EQ(awaiting.added(), 1u);
  EXPECT_EQ(awaiting.awaiting_tokens(), 1u);
  ASSERT_THAT(awaiting.matches(), SizeIs(1));
  EXPECT_FALSE(awaiting.matches(0).complete());
  ASSERT_THAT(awaiting.matches(0).unanswered(), SizeIs(2));
  EXPECT_EQ(awaiting.matches(0).unanswered(0).agency_id(), "custodian/alpha");
  v1::Case stored;
  ASSERT_TRUE(
      federation_->GetCase("north", "NORTH-CUSTODIANS-2", &stored).ok());
  ASSERT_THAT(stored.entries(), SizeIs(1));

  // With the custodians back, north makes the token and federates the
  // registration: ccc's check finds both cases.
  int agencies = 0;
  for (int i = 0; i < 150 && agencies < 2; ++i) {
    v1::CheckResponse found;
    ASSERT_TRUE(
        Check("ccc", {Id(v1::IDENTIFIER_TYPE_PHONE, "613-555-0402")}, &found)
            .ok());
    agencies = found.results(0).hits_size();
    if (agencies < 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  EXPECT_EQ(agencies, 2);
}

// Everything a node writes or reads: its database's files, its
// configuration and its log.
std::vector<std::string> NodeFiles(TestFederation& federation,
                                   const std::string& dir,
                                   const std::string& agency) {
  std::vector<std::string> files = {dir + "/" + agency + ".textproto",
                                    dir + "/" + agency + ".log"};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(
           federation.NodeDataDir(agency))) {
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  }
  return files;
}

TEST_F(FederationTest, NoKeyMaterialInAnyNodesDatabaseConfigOrLog) {
  // Some traffic first, so that databases and logs have content.
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register("north", "NORTH-KEYS-1",
                       {Id(v1::IDENTIFIER_TYPE_PHONE, "+1 613 555 0407")},
                       &registered)
                  .ok());
  // Each share's secret as it could appear: raw, in hex, and escaped as
  // protobuf text format writes bytes.
  std::vector<std::string> secrets;
  for (const std::string& name : federation_->options().custodians) {
    std::ifstream in(federation_->pki().TokenKeyDir() + "/" + name +
                     ".share.textproto");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    keys::v1::KeyShareFile share;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &share));
    ASSERT_EQ(share.secret().size(), 32u);
    secrets.push_back(share.secret());
    secrets.push_back(absl::BytesToHexString(share.secret()));
    secrets.push_back(absl::CEscape(share.secret()));
    // The search finds a secret where there is one: in its own share file.
    EXPECT_NE(text.find(secrets.back()), std::string::npos) << name;
  }
  int searched = 0;
  for (const std::string& agency : federation_->options().agencies) {
    for (const std::string& file :
         NodeFiles(*federation_, dir_->path(), agency)) {
      std::ifstream in(file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), {});
      for (const std::string& secret : secrets) {
        EXPECT_EQ(bytes.find(secret), std::string::npos) << file;
      }
      EXPECT_EQ(bytes.find("share.textproto"), std::string::npos) << file;
      ++searched;
    }
  }
  EXPECT_GT(searched, 20);
}

TEST_F(FederationTest, ANodeCannotLookUpTokensAtAnotherNode) {
  auto channel = federation_->Channel(
      federation_->NodeAddress("south"), "node-north",
      NodeSpiffeId(federation_->options().federation, "south"));
  v1::TokenLookupRequest request;
  request.add_queries()->set_token(std::string(32, 't'));
  v1::TokenLookupResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::Status status = v1::NodeFederation::NewStub(channel)->LookupTokens(
      &context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(FederationTest, AUserCannotCallTheHub) {
  auto channel =
      federation_->Channel(federation_->HubAddress(), "user-north-analyst",
                           HubSpiffeId(federation_->options().federation));
  v1::FederatedLookupRequest request;
  request.add_queries()->set_token(std::string(32, 't'));
  v1::FederatedLookupResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::Status status =
      v1::Hub::NewStub(channel)->Lookup(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(FederationTest, SilentEntryHidesTheOwnerFromTheQuerier) {
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register("south", "SOUTH-UNDERCOVER",
                       {Id(v1::IDENTIFIER_TYPE_CRYPTO_ADDRESS,
                           "btc:1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")},
                       &registered, v1::SHARING_SILENT)
                  .ok());
  v1::CheckResponse response;
  ASSERT_TRUE(Check("north",
                    {Id(v1::IDENTIFIER_TYPE_CRYPTO_ADDRESS,
                        "bitcoin:1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")},
                    &response)
                  .ok());
  ASSERT_THAT(response.results(0).hits(), SizeIs(1));
  const v1::Hit& hit = response.results(0).hits(0);
  EXPECT_TRUE(hit.silent());
  EXPECT_EQ(hit.agency_id(), "ccc");
  EXPECT_EQ(hit.contact().name(), "Coordination centre duty desk");
  EXPECT_THAT(hit.DebugString(), ::testing::Not(HasSubstr("south")));
}

TEST_F(FederationTest, CommonIdentifiersAreNeverHits) {
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register("south", "SOUTH-COMMON",
                       {Id(v1::IDENTIFIER_TYPE_PHONE, "1-800-555-0199")},
                       &registered)
                  .ok());
  v1::CheckResponse response;
  ASSERT_TRUE(Check("north", {Id(v1::IDENTIFIER_TYPE_PHONE, "(800) 555-0199")},
                    &response)
                  .ok());
  EXPECT_TRUE(response.results(0).common());
  EXPECT_THAT(response.results(0).hits(), IsEmpty());
}

TEST_F(FederationTest, ARequestThatDoesNotParseIsLoggedWithItsCaller) {
  grpc::GenericStub stub(federation_->UserChannel("north"));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::Slice garbage(std::string("\xff\xff\xff\xff\x0f"));
  grpc::ByteBuffer request(&garbage, 1);
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, "/deconfliction.v1.Registry/Register",
                 grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // The node's log names the method and who called it.
  std::string log;
  for (int i = 0; i < 50; ++i) {
    log = federation_->Log("north");
    if (log.find("refused as UNIMPLEMENTED") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(log, HasSubstr("level=warning program=deconflict-node "
                             "component=rpc msg=\"call gRPC refused as "
                             "UNIMPLEMENTED"));
  EXPECT_THAT(log, HasSubstr("method=/deconfliction.v1.Registry/Register "
                             "path=/deconfliction.v1.Registry/Register "
                             "caller=spiffe://fed.test/agency/north/user/"
                             "analyst code=UNIMPLEMENTED"));
}

TEST_F(FederationTest, DataAtRestIsPrivateToTheServersUser) {
  // A registration makes sure every store has written files.
  v1::RegisterResponse registered;
  ASSERT_TRUE(Register("north", "NORTH-PRIVATE",
                       {Id(v1::IDENTIFIER_TYPE_PHONE, "+16135550142")},
                       &registered)
                  .ok());
  for (const std::string& dir :
       {federation_->NodeDataDir("north"), federation_->HubDataDir()}) {
    int checked = 0;
    EXPECT_EQ(std::filesystem::status(dir).permissions() &
                  std::filesystem::perms::others_all,
              std::filesystem::perms::none)
        << dir;
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(dir)) {
      const auto open =
          entry.status().permissions() & (std::filesystem::perms::group_all |
                                          std::filesystem::perms::others_all);
      EXPECT_EQ(open, std::filesystem::perms::none) << entry.path();
      ++checked;
    }
    EXPECT_GT(checked, 3) << dir;
  }
}

TEST_F(FederationTest, NodeTokenizesTheListOfCommonIdentifiers) {
  // The coordination centre makes the hub's list at its own node, with the
  // custodians (the hub holds no share); the tokens are the ones the hub
  // is given.
  const std::string csv = dir_->path() + "/common.csv";
  std::ofstream(csv) << "type,value\nphone,+1 800 555 0199\n";
  const std::string out = dir_->path() + "/common.out";
  std::string command =
      absl::StrCat(DECONFLICTION_NODE_BINARY, " --config=", dir_->path(),
                   "/ccc.textproto --tokenize_csv=", csv, " > ", out);
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::ifstream produced(out), given(dir_->path() + "/run/common.tokens");
  std::string produced_line, given_line;
  std::getline(produced, produced_line);
  std::getline(given, given_line);
  ASSERT_GE(produced_line.size(), 64u);
  EXPECT_EQ(produced_line.substr(0, 64), given_line.substr(0, 64));
}

TEST_F(FederationTest, CappedAgencyGetsResourceExhausted) {
  std::vector<v1::Identifier> six;
  six.reserve(6);
  for (int i = 0; i < 6; ++i) {
    six.push_back(Id(v1::IDENTIFIER_TYPE_PHONE,
                     absl::StrFormat("+1613555%04d", 9000 + i)));
  }
  v1::CheckResponse response;
  grpc::Status status = Check("capped", six, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("5 identifiers per minute"));
  // Others are not affected by one agency's cap.
  EXPECT_TRUE(Check("north", six, &response).ok());
}

TEST_F(FederationTest, ACapRefusedRegistrationIsFederatedInTheNextMinute) {
  v1::RegisterResponse registered;
  ASSERT_TRUE(
      Register("south", "SOUTH-CAP-1",
               {Id(v1::IDENTIFIER_TYPE_EMAIL, "capped.later@example.org")},
               &registered)
          .ok());
  // Alerts at south from now on.
  grpc::ClientContext watching;
  watching.set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(100));
  v1::WatchRequest watch;
  auto alerts = v1::Alerts::NewStub(federation_->UserChannel("south"))
                    ->Watch(&watching, watch);
  // capped fills its minute (5 identifiers), then registers one more: the
  // hub refuses its federated lookup. (Should the calendar minute turn in
  // between, the registration is simply taken; try again.)
  bool refused = false;
  for (int attempt = 0; attempt < 2 && !refused; ++attempt) {
    std::vector<v1::Identifier> five;
    five.reserve(5);
    for (int i = 0; i < 5; ++i) {
      five.push_back(
          Id(v1::IDENTIFIER_TYPE_PHONE,
             absl::StrFormat("+1613555%04d", 8000 + 10 * attempt + i)));
    }
    v1::CheckResponse filled;
    if (!Check("capped", five, &filled).ok()) continue;
    ASSERT_TRUE(
        Register("capped", absl::StrCat("CAPPED-LATER-", attempt),
                 {Id(v1::IDENTIFIER_TYPE_EMAIL, "Capped.Later@example.org")},
                 &registered)
            .ok());  // the registration stands
    ASSERT_THAT(registered.matches(), SizeIs(1));
    refused = !registered.matches(0).complete();
  }
  ASSERT_TRUE(refused);
  EXPECT_EQ(registered.matches(0).unanswered(0).agency_id(), "hub");
  EXPECT_EQ(registered.matches(0).unanswered(0).code(),
            static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  // Meanwhile its lookup waits at capped's node, which says so.
  const auto waiting_at_capped = [] {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::AlertStatusResponse status;
    EXPECT_TRUE(v1::Alerts::NewStub(federation_->UserChannel("capped"))
                    ->Status(&context, v1::AlertStatusRequest(), &status)
                    .ok());
    return status.lookups_waiting_for_hub();
  };
  EXPECT_GE(waiting_at_capped(), 1u);
  // Queued, it is sent again and taken in the next minute: south is
  // alerted about its case.
  v1::Alert alert;
  bool matched = false;
  while (!matched && alerts->Read(&alert)) {
    for (const v1::OwnEntry& entry : alert.own_entries()) {
      matched |= entry.case_ref() == "SOUTH-CAP-1" &&
                 alert.other_agency_id() == "capped";
    }
  }
  watching.TryCancel();
  alerts->Finish();
  EXPECT_TRUE(matched);
  // Taken by the hub, it left the queue.
  uint64_t waiting = 1;
  for (int i = 0; i < 50 && waiting > 0; ++i) {
    waiting = waiting_at_capped();
    if (waiting > 0) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(waiting, 0u);
}

// Every identifier of a bulk check is tokenized with the custodians (about
// 20 group operations each across the processes of this test, about 2 ms
// on this test's two cores), so CI checks 10,000 in 10 chunks;
// bench/federation_bench runs a million.
TEST_F(FederationTest, BulkCheckOfTenThousandIdentifiers) {
  constexpr int kTotal = 10000;
  constexpr int kChunk = 1000;
  v1::RegisterResponse registered;
  std::vector<v1::Identifier> held;
  for (int i = 0; i < kTotal; i += 997) {
    held.push_back(
        Id(v1::IDENTIFIER_TYPE_EMAIL, absl::StrCat("bulk", i, "@example.net")));
  }
  ASSERT_TRUE(Register("south", "SOUTH-BULK", held, &registered).ok());

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(300));
  auto stream = v1::Deconfliction::NewStub(federation_->UserChannel("north"))
                    ->CheckBulk(&context);
  std::thread writer([&] {
    for (int first = 0; first < kTotal; first += kChunk) {
      v1::CheckRequest chunk;
      for (int i = first; i < first + kChunk; ++i) {
        *chunk.add_identifiers() = Id(v1::IDENTIFIER_TYPE_EMAIL,
                                      absl::StrCat("bulk", i, "@example.net"));
      }
      if (!stream->Write(chunk)) break;
    }
    stream->WritesDone();
  });
  uint64_t next = 0, hits = 0, incomplete = 0;
  v1::CheckResponse answer;
  while (stream->Read(&answer)) {
    EXPECT_EQ(answer.scope(), v1::CHECK_SCOPE_FEDERATION);
    for (const v1::CheckResult& result : answer.results()) {
      ASSERT_EQ(result.index(), next++);
      if (!result.hits().empty()) {
        ++hits;
        EXPECT_EQ(result.index() % 997, 0u);
        EXPECT_EQ(result.hits(0).agency_id(), "south");
      }
      incomplete += !result.complete();
    }
  }
  writer.join();
  grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(next, static_cast<uint64_t>(kTotal));
  EXPECT_EQ(hits, held.size());
  EXPECT_EQ(incomplete, 0u);
}

// Runs `command` through the shell; its exit code, and what it wrote to
// stdout and stderr in `output`.
int RunCommand(const std::string& command, std::string* output) {
  output->clear();
  FILE* pipe = popen(("(" + command + ") 2>&1").c_str(), "r");
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output->append(buffer, n);
  }
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs deconflict-audit with `flags`, its records to `out_file`.
int RunAudit(const std::string& flags, const std::string& out_file,
             std::string* output) {
  return RunCommand(
      absl::StrCat(DECONFLICTION_AUDIT_BINARY, " ", flags, " >", out_file),
      output);
}

TEST_F(FederationTest, EveryServerChecksItsConfigurationAndSaysItsVersion) {
  const std::string& dir = dir_->path();
  std::string output;
  for (const auto& [binary, config] :
       std::vector<std::pair<std::string, std::string>>{
           {DECONFLICTION_NODE_BINARY, dir + "/north.textproto"},
           {DECONFLICTION_HUB_BINARY, dir + "/hub.textproto"},
           {DECONFLICTION_CUSTODIAN_BINARY,
            absl::StrCat(dir, "/custodian-",
                         federation_->options().custodians[0],
                         ".textproto")}}) {
    EXPECT_EQ(
        RunCommand(absl::StrCat(binary, " --check_config --config=", config),
                   &output),
        0)
        << binary << ": " << output;
    EXPECT_THAT(output, HasSubstr(config + ": valid"));
    // --version and --help answer and exit 0.
    EXPECT_EQ(RunCommand(binary + " --version", &output), 0) << binary;
    EXPECT_THAT(output, HasSubstr(" (revision "));
    EXPECT_EQ(RunCommand(binary + " --help", &output), 0) << binary;
    EXPECT_THAT(output, HasSubstr("--check_config"));
  }
  // north's configuration with south's certificate and key: refused, naming
  // the field, and nothing served.
  std::ifstream in(dir + "/north.textproto");
  std::string text(std::istreambuf_iterator<char>(in), {});
  for (size_t at = text.find("node-north"); at != std::string::npos;
       at = text.find("node-north", at)) {
    text.replace(at, 10, "node-south");
  }
  std::ofstream(dir + "/north-as-south.textproto") << text;
  EXPECT_EQ(RunCommand(absl::StrCat(DECONFLICTION_NODE_BINARY,
                                    " --check_config --config=", dir,
                                    "/north-as-south.textproto"),
                       &output),
            2);
  EXPECT_THAT(output, HasSubstr("tls.cert_file: certificate names "
                                "spiffe://fed.test/agency/south/node"));
}

TEST_F(FederationTest, SighupRereadsTheFilesAndTheServerKeepsServing) {
  federation_->hub().Signal(SIGHUP);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (federation_->Log("hub").find("SIGHUP: certificate files and CRLs "
                                      "re-read") == std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(federation_->Log("hub"),
              HasSubstr("SIGHUP: certificate files and CRLs re-read"));
  v1::CheckResponse response;
  grpc::Status status =
      Check("north", {Id(v1::IDENTIFIER_TYPE_EMAIL, "after.hup@example.org")},
            &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.scope(), v1::CHECK_SCOPE_FEDERATION);
  EXPECT_TRUE(response.results(0).complete());
}

TEST_F(FederationTest, EveryCallIsAuditedAndACutTrailShowsAgainstTheHub) {
  v1::CheckResponse response;
  ASSERT_TRUE(
      Check("north",
            {Id(v1::IDENTIFIER_TYPE_EMAIL, "Audited.Person@example.org")},
            &response)
          .ok());
  const std::string federation = federation_->options().federation;
  const std::string north_dir = federation_->NodeDataDir("north");
  const std::string hub_dir = federation_->HubDataDir();

  // North's trail names the user and the identifier as canonicalized.
  uint64_t check_seq = 0;
  ASSERT_TRUE(ExportAudit(north_dir, AuditKeyFile(north_dir),
                          [&](const storage::v1::AuditRecord& record) {
                            if (record.identifiers_size() == 1 &&
                                record.identifiers(0).canonical() ==
                                    "audited.person@example.org") {
                              check_seq = record.seq();
                              EXPECT_EQ(record.operation(),
                                        "/deconfliction.v1.Deconfliction/"
                                        "Check");
                              EXPECT_EQ(record.identifiers(0).type(),
                                        v1::IDENTIFIER_TYPE_EMAIL);
                              EXPECT_EQ(
                                  record.caller(),
                                  UserSpiffeId(federation, "north", "analyst"));
                            }
                          })
                  .ok());
  ASSERT_GT(check_seq, 0u);

  // The hub holds the token asked about, never the identifier, and soon
  // an anchor of north's trail that covers the check.
  uint64_t anchored = 0;
  bool saw_token = false;
  bool saw_identifier = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (anchored < check_seq && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    ASSERT_TRUE(
        ExportAudit(
            hub_dir, AuditKeyFile(hub_dir),
            [&](const storage::v1::AuditRecord& record) {
              if (record.caller() != NodeSpiffeId(federation, "north")) return;
              if (record.operation() == "/deconfliction.v1.Hub/Lookup") {
                saw_token |= record.queried_tokens_size() == 1 &&
                             record.queried_tokens(0).size() == 32;
              }
              if (record.anchor().agency() == "north") {
                anchored = std::max(anchored, record.anchor().seq());
              }
              saw_identifier |= record.DebugString().find("audited.person") !=
                                std::string::npos;
            })
            .ok());
  }
  ASSERT_GE(anchored, check_seq) << "no anchor of north's trail at the hub";
  EXPECT_TRUE(saw_token);
  EXPECT_FALSE(saw_identifier);

  // The answering node audits the hub's lookups too.
  uint64_t from_hub = 0;
  const std::string south_dir = federation_->NodeDataDir("south");
  ASSERT_TRUE(ExportAudit(south_dir, AuditKeyFile(south_dir),
                          [&](const storage::v1::AuditRecord& record) {
                            from_hub +=
                                record.caller() == HubSpiffeId(federation);
                          })
                  .ok());
  EXPECT_GT(from_hub, 0u);

  // deconflict-audit: the hub's trail, then north's against its anchors.
  const std::string hub_export = dir_->path() + "/hub-audit.jsonl";
  const std::string north_export = dir_->path() + "/north-audit.jsonl";
  const std::string against_anchors = absl::StrCat(
      "--data_dir=", north_dir, " --anchors=", hub_export, " --agency=north");
  std::string output;
  ASSERT_EQ(RunAudit("--data_dir=" + hub_dir, hub_export, &output), 0)
      << output;
  ASSERT_EQ(RunAudit(against_anchors, north_export, &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("anchors match"));

  // North stopped, the anchored check and all after it cut: the trail
  // alone still verifies, against the hub's anchors it does not.
  ASSERT_EQ(federation_->node("north").Terminate(), 0);
  {
    auto database = Database::Open(north_dir, NodeFamilies());
    ASSERT_TRUE(database.ok()) << database.status();
    ASSERT_TRUE((*database)
                    ->db()
                    ->DeleteRange(rocksdb::WriteOptions(),
                                  *(*database)->Family(families::kAudit),
                                  keys::EncodeUint64(check_seq),
                                  keys::EncodeUint64(UINT64_MAX))
                    .ok());
  }
  EXPECT_EQ(RunAudit("--data_dir=" + north_dir, north_export, &output), 0)
      << output;
  EXPECT_EQ(RunAudit(against_anchors, north_export, &output), 1) << output;
  EXPECT_THAT(output, HasSubstr("its tail was cut"));

  // Restarted, north anchors again and the hub says its trail went back.
  ASSERT_TRUE(federation_->StartNode("north"));
  ASSERT_TRUE(Check("north",
                    {Id(v1::IDENTIFIER_TYPE_EMAIL, "after.cut@example.org")},
                    &response)
                  .ok());
  const absl::Time warned_by = absl::Now() + absl::Seconds(30);
  const std::string kWentBack = "an agency's audit trail went back";
  while (federation_->Log("hub").find(kWentBack) == std::string::npos &&
         absl::Now() < warned_by) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_THAT(federation_->Log("hub"), HasSubstr(kWentBack));
  EXPECT_THAT(federation_->Log("hub"), HasSubstr("agency=north seq="));
}

// A bulk check by `capped` (5 identifiers a minute) of `rows` phone numbers,
// 5 per request, piped; `flags` added. Its exit code, and its output in
// `output`.
int FederationTest::CappedBulkCheck(int rows, const std::string& flags,
                                    std::string* output) {
  const std::string csv = dir_->path() + "/capped-bulk.csv";
  {
    std::ofstream out(csv);
    for (int i = 0; i < rows; ++i) {
      out << "phone,+1613555" << absl::StrFormat("%04d", 7000 + i) << "\n";
    }
  }
  return RunCommand(
      absl::StrCat(DECONFLICTION_CLI,
                   " --profile=", federation_->WriteProfile("capped"),
                   " --batch_size=5 ", flags, " check --file=", csv),
      output);
}

TEST_F(FederationTest, ABulkCheckOverTheCapStopsWithASummaryAndExitCode8) {
  // 12 rows, 5 a request, 5 a minute: at most two requests are taken (one,
  // or none when other tests used part of this minute, and one more should
  // the minute turn), then one is refused and the job stops there.
  std::string output;
  EXPECT_EQ(CappedBulkCheck(12, "--wait_for_cap=false", &output), 8) << output;
  const size_t at = output.find("resume with --from_line=");
  ASSERT_NE(at, std::string::npos) << output;
  const int resume = std::atoi(output.c_str() + at + 24);
  EXPECT_TRUE(resume == 1 || resume == 6 || resume == 11) << output;
  EXPECT_THAT(output,
              HasSubstr(absl::StrCat(resume - 1, " identifiers: 0 held")));
  EXPECT_THAT(output, HasSubstr("over its cap of 5 identifiers per minute"));
  // Piped, without --json: the summary only, no line per result.
  EXPECT_THAT(output, Not(HasSubstr("line 1 ")));
}

TEST_F(FederationTest, ABulkCheckOverTheCapWaitsForTheNextMinuteAndFinishes) {
  // 7 rows: 5, then 2 refused until the next minute, then taken.
  std::string output;
  EXPECT_EQ(CappedBulkCheck(7, "", &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("waiting until "));
  EXPECT_THAT(output, HasSubstr(", then going on from line 6"));
  EXPECT_THAT(output, HasSubstr("7 identifiers: 0 held by an investigation "
                                "(searched: the whole federation)"));
}

// Last in the file: the lookups it leaves waiting at capped's node are
// sent in the next minute, within the cap, and would use part of it.
TEST_F(FederationTest, AnImportOverTheCapSaysItsLookupsWaitAtTheNode) {
  // An import is taken whole (registrations are never refused), and says
  // that its lookups wait at the node. (Should the minute turn between the
  // filling and the import, the hub takes them: try again once.)
  const std::string csv = dir_->path() + "/capped-import.csv";
  std::ofstream(csv) << "email,capped.import.1@example.org\n"
                     << "email,capped.import.2@example.org\n";
  std::string imported;
  int code = -1;
  for (int attempt = 0; attempt < 2; ++attempt) {
    // One identifier a request: the minute is then full to the last one (a
    // refused request counts nothing, so bigger ones could leave room).
    std::string filled;
    (void)CappedBulkCheck(6, "--wait_for_cap=false --batch_size=1", &filled);
    code = RunCommand(
        absl::StrCat(DECONFLICTION_CLI,
                     " --profile=", federation_->WriteProfile("capped"),
                     " import --case=CAPPED-IMPORT-", attempt,
                     " --contact_name=Det.Capped --contact_phone=+16135550100 ",
                     csv),
        &imported);
    if (absl::StrContains(imported, "not taken by the hub")) break;
  }
  EXPECT_EQ(code, 4) << imported;  // incomplete answers, documented
  EXPECT_THAT(imported, HasSubstr("imported 2 of 2 rows"));
  EXPECT_THAT(imported,
              HasSubstr("2 identifiers' federated lookups were not taken by "
                        "the hub (over your agency's query cap): your node "
                        "keeps them and sends them again, within the cap"));
}

}  // namespace
}  // namespace deconfliction
