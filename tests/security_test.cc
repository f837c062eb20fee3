// The checks of the security component below gRPC: a server's own TLS
// files at start, and certificate revocation lists read, watched and
// enforced, with certificates made for each test.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "security/revocation.h"
#include "security/staged_tls_files.h"
#include "security/tls.h"
#include "tests/temp_dir.h"
#include "tests/test_pki.h"

namespace deconfliction {
namespace {

using ::testing::HasSubstr;

constexpr char kFederation[] = "fed.test";
constexpr absl::StatusCode kUnauthenticated =
    absl::StatusCode::kUnauthenticated;

std::string Contents(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok());
    ASSERT_TRUE(pki_.Node("agency-a"));
    ASSERT_TRUE(pki_.Node("agency-b"));
  }

  // The message of CheckTlsFiles' refusal; fails the test when it accepts.
  // A certificate no peer would accept is UNAUTHENTICATED, other faults of
  // the files FAILED_PRECONDITION.
  static std::string Refusal(
      const config::v1::TlsFiles& files,
      absl::StatusCode code = absl::StatusCode::kFailedPrecondition) {
    absl::Status status = CheckTlsFiles(files, "tls");
    EXPECT_EQ(status.code(), code) << status;
    return std::string(status.message());
  }

  std::string Pem(const std::string& name) const {
    return Contents(pki_.dir() + "/" + name + ".pem");
  }

  TempDir dir_;
  TestPki pki_{dir_.path() + "/pki", kFederation};
};

TEST_F(SecurityTest, ASoundIdentityIsAccepted) {
  EXPECT_TRUE(CheckTlsFiles(pki_.Files("node-agency-a", true), "tls").ok());
}

TEST_F(SecurityTest, AKeyOfAnotherCertificateIsRefused) {
  config::v1::TlsFiles files = pki_.Files("node-agency-a");
  files.set_key_file(pki_.Files("node-agency-b").key_file());
  EXPECT_THAT(Refusal(files), HasSubstr("tls.key_file:"));
  EXPECT_THAT(Refusal(files), HasSubstr("is not the key of"));
}

TEST_F(SecurityTest, ACaFileThatIsNotACaIsRefused) {
  config::v1::TlsFiles files = pki_.Files("node-agency-a");
  files.set_ca_file(pki_.Files("node-agency-b").cert_file());
  EXPECT_THAT(Refusal(files), HasSubstr("tls.ca_file:"));
  EXPECT_THAT(Refusal(files), HasSubstr("not a CA certificate"));
}

TEST_F(SecurityTest, AnExpiredOrNotYetValidCertificateIsRefused) {
  const std::string id = "URI:spiffe://fed.test/agency/agency-a/node";
  ASSERT_TRUE(
      pki_.Certificate("expired", id, "20200101000000Z", "20210101000000Z"));
  ASSERT_TRUE(
      pki_.Certificate("early", id, "20900101000000Z", "20910101000000Z"));
  EXPECT_THAT(Refusal(pki_.Files("expired"), kUnauthenticated),
              HasSubstr("has expired"));
  EXPECT_THAT(Refusal(pki_.Files("early"), kUnauthenticated),
              HasSubstr("is not valid yet"));
}

TEST_F(SecurityTest, ACertificateOfAnotherCaIsRefused) {
  TestPki other(dir_.path() + "/other", kFederation);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(other.Node("agency-a"));
  config::v1::TlsFiles files = other.Files("node-agency-a");
  files.set_ca_file(pki_.Files("node-agency-a").ca_file());
  EXPECT_THAT(Refusal(files, kUnauthenticated), HasSubstr("does not chain to"));
}

TEST_F(SecurityTest, ACertificateWithoutOneSpiffeIdIsRefused) {
  ASSERT_TRUE(
      pki_.Certificate("none", "", "20200101000000Z", "20900101000000Z"));
  ASSERT_TRUE(pki_.Certificate(
      "two",
      "URI:spiffe://fed.test/hub,URI:spiffe://fed.test/agency/agency-a/node",
      "20200101000000Z", "20900101000000Z"));
  EXPECT_THAT(Refusal(pki_.Files("none")), HasSubstr("exactly one spiffe://"));
  EXPECT_THAT(Refusal(pki_.Files("two")), HasSubstr("exactly one spiffe://"));
}

TEST_F(SecurityTest, AnEmptyOrMissingCrlDirectoryIsRefused) {
  config::v1::TlsFiles files = pki_.Files("node-agency-a");
  files.set_crl_dir(dir_.path() + "/empty");
  ASSERT_EQ(mkdir(files.crl_dir().c_str(), 0700), 0);
  EXPECT_THAT(Refusal(files), HasSubstr("holds no CRL"));
  EXPECT_EQ(RevocationList::Watch(files, "tls").status().code(),
            absl::StatusCode::kFailedPrecondition);
  files.set_crl_dir(dir_.path() + "/missing");
  EXPECT_THAT(Refusal(files), HasSubstr("tls.crl_dir:"));
}

TEST_F(SecurityTest, ACrlOfAnotherCaIsRefused) {
  TestPki other(dir_.path() + "/other", kFederation);
  ASSERT_TRUE(other.ok());
  config::v1::TlsFiles files = pki_.Files("node-agency-a");
  files.set_crl_dir(other.Files("node-agency-a", true).crl_dir());
  EXPECT_THAT(Refusal(files), HasSubstr("that no CA of"));
}

TEST_F(SecurityTest, ARevocationHoldsWithinThePollIntervalWithoutARestart) {
  auto list = RevocationList::Watch(pki_.Files("node-agency-a", true), "tls");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_TRUE((*list)->CheckCertificate(Pem("node-agency-b")).ok());
  ASSERT_TRUE(pki_.Revoke("node-agency-b"));
  const absl::Time start = absl::Now();
  absl::Status status;
  while (absl::Now() - start < 3 * kRevocationPollInterval) {
    status = (*list)->CheckCertificate(Pem("node-agency-b"));
    if (!status.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
  EXPECT_THAT(status.message(), HasSubstr("is revoked"));
  EXPECT_TRUE((*list)->CheckCertificate(Pem("node-agency-a")).ok());
}

TEST_F(SecurityTest, ABrokenReplacementKeepsTheLastGoodListInForce) {
  ASSERT_TRUE(pki_.Revoke("node-agency-b"));
  config::v1::TlsFiles files = pki_.Files("node-agency-a", true);
  auto list = RevocationList::Watch(files, "tls");
  ASSERT_TRUE(list.ok()) << list.status();
  std::ofstream(files.crl_dir() + "/garbage.r0") << "not a CRL";
  absl::Status reread = (*list)->Reread();
  EXPECT_EQ(reread.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reread.message(), HasSubstr("garbage.r0 is not a CRL"));
  EXPECT_EQ((*list)->CheckCertificate(Pem("node-agency-b")).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(SecurityTest, AnExpiredListIsStillEnforced) {
  ASSERT_TRUE(pki_.Revoke("node-agency-b"));
  ASSERT_TRUE(pki_.RenewCrl(0));
  auto list = RevocationList::Watch(pki_.Files("node-agency-a", true), "tls");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_LE((*list)->next_update(), absl::Now() + absl::Seconds(5));
  EXPECT_EQ((*list)->CheckCertificate(Pem("node-agency-b")).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE((*list)->CheckCertificate(Pem("node-agency-a")).ok());
}

TEST_F(SecurityTest, OneListIsSharedPerDirectory) {
  auto first = RevocationList::Watch(pki_.Files("node-agency-a", true), "tls");
  auto second = RevocationList::Watch(pki_.Files("node-agency-b", true), "tls");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->get(), second->get());
}

TEST_F(SecurityTest, ACertificateChangeIsServedOnlyOnceItPassesTheChecks) {
  // The configured files live where an operator would replace them.
  const std::string etc = dir_.path() + "/etc";
  std::filesystem::create_directories(etc);
  auto install = [&](const std::string& name) {
    for (const auto& [from, to] :
         {std::pair(pki_.Files(name).cert_file(), etc + "/node.pem"),
          std::pair(pki_.Files(name).key_file(), etc + "/node.key.pem")}) {
      std::filesystem::copy_file(
          from, to + ".tmp", std::filesystem::copy_options::overwrite_existing);
      std::filesystem::rename(to + ".tmp", to);
    }
  };
  install("node-agency-a");
  config::v1::TlsFiles configured = pki_.Files("node-agency-a", true);
  configured.set_cert_file(etc + "/node.pem");
  configured.set_key_file(etc + "/node.key.pem");
  const std::string own = "spiffe://fed.test/agency/agency-a/node";

  // Another agency's certificate is refused at start...
  install("node-agency-b");
  auto refused =
      StagedTlsFiles::Stage(configured, own, dir_.path() + "/staged", "tls");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("but this server is"));

  install("node-agency-a");
  auto staged =
      StagedTlsFiles::Stage(configured, own, dir_.path() + "/staged", "tls");
  ASSERT_TRUE(staged.ok()) << staged.status();
  const std::string served = (*staged)->files().cert_file();
  EXPECT_EQ(Contents(served), Pem("node-agency-a"));
  EXPECT_TRUE(CheckTlsFiles((*staged)->files(), "tls").ok());

  // ...and on a change: the old files stay in force.
  install("node-agency-b");
  absl::Status restaged = (*staged)->Restage();
  EXPECT_EQ(restaged.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(restaged.message(), HasSubstr("still serving with the previous"));
  EXPECT_EQ(Contents(served), Pem("node-agency-a"));

  // An expired certificate of the right identity: refused too.
  ASSERT_TRUE(pki_.Certificate("old-a", "URI:" + own, "20200101000000Z",
                               "20210101000000Z"));
  install("old-a");
  absl::Status expired = (*staged)->Restage();
  EXPECT_EQ(expired.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(expired.message(), HasSubstr("has expired"));
  EXPECT_EQ(Contents(served), Pem("node-agency-a"));

  // A renewed certificate of this node is served.
  ASSERT_TRUE(pki_.Node("agency-a"));
  install("node-agency-a");
  EXPECT_TRUE((*staged)->Restage().ok());
  EXPECT_EQ(Contents(served), Pem("node-agency-a"));
  EXPECT_EQ(Contents((*staged)->files().key_file()),
            Contents(pki_.Files("node-agency-a").key_file()));
}

}  // namespace
}  // namespace deconfliction
