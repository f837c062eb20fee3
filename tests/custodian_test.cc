// A custodian over real mutual TLS on port 0: evaluations a node can verify
// and combine, who may call it (its authorization matrix), caps, bad input
// named by field, every call audited, and the share file's rules at start.
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/deconfliction/v1/token_issuer.grpc.pb.h"
#include "base/key_file.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "oprf/threshold.h"
#include "oprf/voprf.h"
#include "security/identity.h"
#include "security/tls.h"
#include "server/custodian/custodian_config.h"
#include "server/custodian/custodian_server.h"
#include "storage/audit_log.h"
#include "tests/temp_dir.h"
#include "tests/test_pki.h"
#include "token_key/key_files.h"

namespace deconfliction {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kFederation[] = "fed.test";
constexpr char kEpoch[] = "test-epoch";

class CustodianTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(oprf::Init().ok());
    dir_ = new TempDir();
    pki_ = new TestPki(dir_->path() + "/pki", kFederation);
    ASSERT_TRUE(pki_->ok());
    for (const char* agency : {"north", "south", "stranger"}) {
      ASSERT_TRUE(pki_->Node(agency));
    }
    ASSERT_TRUE(pki_->Hub());
    ASSERT_TRUE(pki_->User("north", "alice"));
    ASSERT_TRUE(pki_->Custodian("alpha"));
    ASSERT_TRUE(pki_->Custodian("beta"));
    ASSERT_TRUE(pki_->Node("revoked"));
    ASSERT_TRUE(pki_->Revoke("node-revoked"));
    other_pki_ = new TestPki(dir_->path() + "/other-pki", kFederation);
    ASSERT_TRUE(other_pki_->ok());
    ASSERT_TRUE(other_pki_->Node("north"));
    // A 2-of-3 key; alpha holds share 1, beta share 2.
    key_ = new oprf::SecretScalar(oprf::RandomScalar());
    shares_ =
        new std::vector<oprf::KeyShare>(*oprf::SplitKey(key_->get(), 2, 3));
  }

  static void TearDownTestSuite() {
    delete shares_;
    delete key_;
    delete other_pki_;
    delete pki_;
    delete dir_;
  }

  // Writes `custodian`'s share file (share `index`) with `mode`.
  static std::string WriteShare(const std::string& custodian, uint32_t index,
                                unsigned mode, const std::string& name) {
    keys::v1::KeyShareFile share;
    share.set_suite(kTokenKeySuite);
    share.set_epoch(kEpoch);
    share.set_threshold(2);
    share.set_shares(3);
    share.set_custodian(custodian);
    share.set_index(index);
    share.set_secret(oprf::SerializeScalar((*shares_)[index - 1].secret.get()));
    std::string text;
    google::protobuf::TextFormat::PrintToString(share, &text);
    std::string path = absl::StrCat(dir_->path(), "/", name);
    EXPECT_TRUE(WriteKeyFile(path, text, mode).ok());
    return path;
  }

  config::v1::CustodianConfig Config(const std::string& name, uint32_t index) {
    config::v1::CustodianConfig config;
    config.set_federation(kFederation);
    config.set_name(name);
    config.set_listen_address("127.0.0.1:0");
    *config.mutable_tls() = pki_->Files("custodian-" + name, /*with_crl=*/true);
    config.set_data_dir(data_.path() + "/" + name);
    config.set_share_file(WriteShare(
        name, index, 0600, absl::StrCat(name, "-", ++written_, ".share")));
    config.add_agencies("north");
    config.add_agencies("south");
    config::v1::QueryCap* cap = config.add_caps();
    cap->set_agency_id("south");
    cap->set_per_minute(5);
    config.mutable_limits()->set_max_elements_per_request(10);
    EXPECT_TRUE(ValidateCustodianConfig(&config).ok());
    return config;
  }

  void SetUp() override {
    config_ = Config("alpha", 1);
    auto server = CustodianServer::Start(config_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::unique_ptr<v1::TokenIssuer::Stub> Stub(
      const config::v1::TlsFiles& files) {
    auto credentials = MutualTlsChannelCredentials(
        files, "tls", CustodianSpiffeId(kFederation, "alpha"));
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    return v1::TokenIssuer::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), *credentials));
  }

  static grpc::Status Evaluate(v1::TokenIssuer::Stub& stub,
                               const v1::EvaluateRequest& request,
                               v1::EvaluateResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return stub.Evaluate(&context, request, response);
  }

  static v1::EvaluateRequest Request(const std::vector<oprf::Element>& blinded,
                                     const std::string& epoch = kEpoch) {
    v1::EvaluateRequest request;
    request.set_epoch(epoch);
    for (const oprf::Element& element : blinded) {
      request.add_blinded_elements(oprf::Serialize(element));
    }
    return request;
  }

  static oprf::Element Blinded(const std::string& input) {
    return *oprf::Blind(oprf::Mode::kVoprf, input, oprf::RandomScalar());
  }

  static TempDir* dir_;
  static TestPki* pki_;
  static TestPki* other_pki_;
  static oprf::SecretScalar* key_;
  static std::vector<oprf::KeyShare>* shares_;
  static int written_;
  TempDir data_;
  config::v1::CustodianConfig config_;
  std::unique_ptr<CustodianServer> server_;
};

TempDir* CustodianTest::dir_ = nullptr;
TestPki* CustodianTest::pki_ = nullptr;
TestPki* CustodianTest::other_pki_ = nullptr;
oprf::SecretScalar* CustodianTest::key_ = nullptr;
std::vector<oprf::KeyShare>* CustodianTest::shares_ = nullptr;
int CustodianTest::written_ = 0;

TEST_F(CustodianTest, ANodesEvaluationsVerifyAndCombineToTheWholeKeys) {
  const std::vector<oprf::Element> blinded = {Blinded("a"), Blinded("b")};
  v1::EvaluateResponse alpha;
  ASSERT_TRUE(
      Evaluate(*Stub(pki_->Files("node-north")), Request(blinded), &alpha)
          .ok());
  EXPECT_EQ(alpha.epoch(), kEpoch);
  EXPECT_EQ(alpha.share_index(), 1u);
  ASSERT_THAT(alpha.evaluated_elements(), SizeIs(2));
  std::vector<oprf::Element> evaluated;
  for (const std::string& bytes : alpha.evaluated_elements()) {
    evaluated.push_back(*oprf::DeserializeElement(bytes, "evaluated"));
  }
  const oprf::Element generator = *oprf::ScalarMultGen(oprf::ScalarFromInt(1));
  const oprf::Element public_share =
      *oprf::ScalarMultGen((*shares_)[0].secret.get());
  ASSERT_TRUE(oprf::VerifyProof(
      oprf::Mode::kVoprf, generator, public_share, blinded, evaluated,
      *oprf::DeserializeProof(alpha.proof(), "proof")));
  // With share 3's evaluation, the whole key's.
  const oprf::Element third =
      *oprf::BlindEvaluate((*shares_)[2].secret.get(), blinded[0]);
  EXPECT_EQ(
      oprf::CombineEvaluations({{1, {evaluated[0]}}, {3, {third}}}, 2)->at(0),
      *oprf::BlindEvaluate(key_->get(), blinded[0]));
}

TEST_F(CustodianTest, OnlyTheConfiguredAgenciesNodesMayAsk) {
  const v1::EvaluateRequest request = Request({Blinded("x")});
  v1::EvaluateResponse response;
  struct Caller {
    const char* what;
    config::v1::TlsFiles files;
    grpc::StatusCode expected;
  };
  config::v1::TlsFiles foreign = other_pki_->Files("node-north");
  foreign.set_ca_file(pki_->dir() + "/ca.pem");
  const Caller callers[] = {
      {"north's node", pki_->Files("node-north"), grpc::StatusCode::OK},
      {"south's node", pki_->Files("node-south"), grpc::StatusCode::OK},
      {"an unlisted agency's node", pki_->Files("node-stranger"),
       grpc::StatusCode::PERMISSION_DENIED},
      {"a user", pki_->Files("user-north-alice"),
       grpc::StatusCode::PERMISSION_DENIED},
      {"the hub", pki_->Files("hub"), grpc::StatusCode::PERMISSION_DENIED},
      {"another custodian", pki_->Files("custodian-beta"),
       grpc::StatusCode::PERMISSION_DENIED},
      {"a revoked node", pki_->Files("node-revoked"),
       grpc::StatusCode::UNAUTHENTICATED},
  };
  for (const Caller& caller : callers) {
    EXPECT_EQ(Evaluate(*Stub(caller.files), request, &response).error_code(),
              caller.expected)
        << caller.what;
  }
  // Another CA's node, which this project's own credentials would not even
  // present: no handshake.
  auto stranger = v1::TokenIssuer::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                          UncheckedTlsCredentials(foreign)));
  EXPECT_EQ(Evaluate(*stranger, request, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // No certificate at all: no handshake.
  auto plaintext = v1::TokenIssuer::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                          grpc::InsecureChannelCredentials()));
  EXPECT_EQ(Evaluate(*plaintext, request, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(CustodianTest, AnAgencyOverItsCapIsRefused) {
  auto south = Stub(pki_->Files("node-south"));
  v1::EvaluateResponse response;
  std::vector<oprf::Element> four(4, Blinded("capped"));
  ASSERT_TRUE(Evaluate(*south, Request(four), &response).ok());
  grpc::Status refused = Evaluate(*south, Request(four), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("per minute"));
  // North has no cap.
  EXPECT_TRUE(
      Evaluate(*Stub(pki_->Files("node-north")), Request(four), &response)
          .ok());
}

TEST_F(CustodianTest, BadRequestsAreRefusedNamingTheField) {
  auto north = Stub(pki_->Files("node-north"));
  v1::EvaluateResponse response;
  grpc::Status epoch =
      Evaluate(*north, Request({Blinded("x")}, "other-epoch"), &response);
  EXPECT_EQ(epoch.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(epoch.error_message(), HasSubstr("epoch"));

  v1::EvaluateRequest short_element = Request({Blinded("x")});
  short_element.add_blinded_elements(std::string(31, '\1'));
  grpc::Status size = Evaluate(*north, short_element, &response);
  EXPECT_EQ(size.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(size.error_message(), HasSubstr("blinded_elements[1]"));

  v1::EvaluateRequest identity = Request({});
  identity.add_blinded_elements(std::string(32, '\0'));
  EXPECT_EQ(Evaluate(*north, identity, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Evaluate(*north, Request({}), &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<oprf::Element> eleven(11, Blinded("many"));
  grpc::Status many = Evaluate(*north, Request(eleven), &response);
  EXPECT_EQ(many.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(many.error_message(), HasSubstr("limit of 10"));
}

TEST_F(CustodianTest, EveryCallIsAuditedWithCallerCountAndOutcome) {
  auto north = Stub(pki_->Files("node-north"));
  v1::EvaluateResponse response;
  ASSERT_TRUE(
      Evaluate(*north, Request({Blinded("1"), Blinded("2")}), &response).ok());
  ASSERT_FALSE(
      Evaluate(*north, Request({Blinded("1")}, "wrong"), &response).ok());
  server_.reset();  // the trail is read with the custodian stopped
  std::vector<storage::v1::AuditRecord> records;
  auto count = ExportAudit(config_.data_dir(), AuditKeyFile(config_.data_dir()),
                           [&](const storage::v1::AuditRecord& record) {
                             records.push_back(record);
                           });
  ASSERT_TRUE(count.ok()) << count.status();
  ASSERT_THAT(records, SizeIs(2));
  EXPECT_EQ(records[0].caller(), NodeSpiffeId(kFederation, "north"));
  EXPECT_EQ(records[0].operation(), "/deconfliction.v1.TokenIssuer/Evaluate");
  EXPECT_EQ(records[0].tokens(), 2u);
  EXPECT_EQ(records[0].code(), 0);
  EXPECT_EQ(records[1].code(),
            static_cast<int32_t>(absl::StatusCode::kFailedPrecondition));
}

TEST_F(CustodianTest, StartRefusesAShareOthersCanReadOrAnotherCustodians) {
  config::v1::CustodianConfig open = Config("beta", 2);
  open.set_share_file(WriteShare("beta", 2, 0644, "beta-open.share"));
  auto refused = CustodianServer::Start(open);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("chmod 600"));

  config::v1::CustodianConfig stolen = Config("beta", 2);
  stolen.set_share_file(WriteShare("alpha", 1, 0600, "alpha-stolen.share"));
  refused = CustodianServer::Start(stolen);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("alpha"));

  // A certificate that is not this custodian's.
  config::v1::CustodianConfig impostor = Config("beta", 2);
  *impostor.mutable_tls() = pki_->Files("custodian-alpha", true);
  EXPECT_EQ(CustodianServer::Start(impostor).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace deconfliction
