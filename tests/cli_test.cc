// The deconflict binary against a real node over mutual TLS: what it
// prints and, above all, its exit codes, which scripts rely on.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/render.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/node/node_server.h"
#include "tests/temp_dir.h"
#include "tests/test_node.h"
#include "tests/test_pki.h"

#ifndef DECONFLICTION_CLI
#define DECONFLICTION_CLI "client/deconflict"  // Bazel runfiles path
#endif

namespace deconfliction {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kFederation[] = "fed.test";

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    pki_ = new TestPki(dir_->path() + "/pki", kFederation);
    ASSERT_TRUE(pki_->ok());
    custodians_ = new TestCustodians(pki_, {"agency-a"});
    ASSERT_TRUE(custodians_->Make());
    ASSERT_TRUE(custodians_->Start(dir_->path() + "/custodians"));
    ASSERT_TRUE(pki_->Node("agency-a"));
    ASSERT_TRUE(pki_->User("agency-a", "alice"));
    ASSERT_TRUE(pki_->User("agency-b", "bob"));
  }
  static void TearDownTestSuite() {
    delete custodians_;
    delete pki_;
    delete dir_;
  }

  void SetUp() override {
    auto server = NodeServer::Start(TestNodeConfig(
        *pki_, kFederation, "agency-a", data_.path(), *custodians_));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    profile_ = WriteProfile("user-agency-a-alice", "agency-a");
  }

  // A profile for `cert_name` that expects the node of `agency`.
  std::string WriteProfile(const std::string& cert_name,
                           const std::string& agency) {
    std::string path = absl::StrCat(data_.path(), "/", cert_name, ".profile");
    config::v1::TlsFiles files = pki_->Files(cert_name);
    std::ofstream(path) << "node_address: \"127.0.0.1:" << server_->port()
                        << "\"\nfederation: \"" << kFederation
                        << "\"\nagency_id: \"" << agency << "\"\ntls {"
                        << " cert_file: \"" << files.cert_file() << "\""
                        << " key_file: \"" << files.key_file() << "\""
                        << " ca_file: \"" << files.ca_file() << "\" }\n";
    return path;
  }

  CliRun Cli(const std::string& args, const std::string& profile = "") {
    std::string command = absl::StrCat(
        DECONFLICTION_CLI, " --profile=", profile.empty() ? profile_ : profile,
        " ", args, " 2>&1");
    CliRun run;
    FILE* pipe = popen(command.c_str(), "r");
    std::array<char, 4096> buffer;
    size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
      run.output.append(buffer.data(), n);
    }
    int status = pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = absl::StrCat(data_.path(), "/", name);
    std::ofstream(path) << text;
    return path;
  }

  static constexpr char kContact[] =
      "--contact_name='Det. A' --contact_phone=+16135550199 ";

  static TempDir* dir_;
  static TestPki* pki_;
  static TestCustodians* custodians_;
  TempDir data_;
  std::unique_ptr<NodeServer> server_;
  std::string profile_;
};

TempDir* CliTest::dir_ = nullptr;
TestPki* CliTest::pki_ = nullptr;
TestCustodians* CliTest::custodians_ = nullptr;

TEST_F(CliTest, RegisterThenCheckExitCodes) {
  CliRun registered =
      Cli(absl::StrCat("register --case=OPS-1 ", kContact,
                       "phone:'(613) 555-0100' email:a@b.example"));
  EXPECT_EQ(registered.exit_code, 0) << registered.output;
  EXPECT_THAT(registered.output, HasSubstr("registered 2 new identifiers"));

  CliRun hit = Cli("check phone:+16135550100 phone:6135550101");
  EXPECT_EQ(hit.exit_code, 1) << hit.output;
  EXPECT_THAT(hit.output, HasSubstr("HIT"));
  EXPECT_THAT(hit.output, HasSubstr("OPS-1"));

  CliRun miss = Cli("check phone:6135550101");
  EXPECT_EQ(miss.exit_code, 0) << miss.output;
  EXPECT_THAT(miss.output, HasSubstr("no hit"));

  CliRun json = Cli("--json check email:A@B.EXAMPLE");
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_THAT(json.output, HasSubstr("\"case_ref\":\"OPS-1\""));
}

TEST_F(CliTest, AProfilesRelativePathsAreReadFromItsOwnDirectory) {
  // The profile and copies of the certificate files in one directory,
  // named relatively; the client runs from elsewhere (popen's directory).
  const std::string kept = absl::StrCat(data_.path(), "/kept");
  std::filesystem::create_directories(kept);
  const config::v1::TlsFiles files = pki_->Files("user-agency-a-alice");
  for (const std::string& file :
       {files.cert_file(), files.key_file(), files.ca_file()}) {
    std::filesystem::copy_file(
        file, kept + "/" + std::filesystem::path(file).filename().string());
  }
  const std::string profile = kept + "/profile.textproto";
  std::ofstream(profile)
      << "node_address: \"127.0.0.1:" << server_->port() << "\"\nfederation: \""
      << kFederation << "\"\nagency_id: \"agency-a\"\ntls {"
      << " cert_file: \""
      << std::filesystem::path(files.cert_file()).filename().string()
      << "\" key_file: \""
      << std::filesystem::path(files.key_file()).filename().string()
      << "\" ca_file: \""
      << std::filesystem::path(files.ca_file()).filename().string() << "\" }\n";
  CliRun run = Cli("check phone:6135550177", profile);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("no hit"));
}

TEST_F(CliTest, BadInputAndUsageHaveTheirOwnCodes) {
  CliRun bad = Cli("check imei:490154203237519");
  EXPECT_EQ(bad.exit_code, 3) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("identifiers[0]"));
  EXPECT_THAT(bad.output, HasSubstr("Luhn"));

  EXPECT_EQ(Cli("check fax:123").exit_code, 3);
  CliRun no_case = Cli(absl::StrCat("register ", kContact, "phone:6135550100"));
  EXPECT_EQ(no_case.exit_code, 2) << no_case.output;
  EXPECT_THAT(no_case.output, HasSubstr("--case"));
  EXPECT_EQ(Cli("frobnicate").exit_code, 2);
  EXPECT_EQ(Cli("cases NOPE").exit_code, 7);
}

TEST_F(CliTest, OtherAgencysUserIsNotAuthorized) {
  CliRun denied = Cli("check phone:6135550100",
                      WriteProfile("user-agency-b-bob", "agency-a"));
  EXPECT_EQ(denied.exit_code, 5) << denied.output;
  // Expecting agency-b's node at agency-a's address: the node is refused.
  CliRun wrong_node = Cli("check phone:6135550100",
                          WriteProfile("user-agency-a-alice", "agency-b"));
  EXPECT_EQ(wrong_node.exit_code, 6) << wrong_node.output;
}

TEST_F(CliTest, ARevokedExpiredOrForeignCertificateIsNotAuthorized) {
  ASSERT_TRUE(pki_->User("agency-a", "mallory"));
  ASSERT_TRUE(pki_->Revoke("user-agency-a-mallory"));
  // The node sees the new CRL within its poll interval.
  const std::string profile = WriteProfile("user-agency-a-mallory", "agency-a");
  CliRun revoked = Cli("check phone:6135550100", profile);
  for (int i = 0; i < 30 && revoked.exit_code != 5; ++i) {
    absl::SleepFor(absl::Milliseconds(500));
    revoked = Cli("check phone:6135550100", profile);
  }
  EXPECT_EQ(revoked.exit_code, 5) << revoked.output;
  EXPECT_THAT(revoked.output, HasSubstr("is revoked"));

  ASSERT_TRUE(pki_->Certificate(
      "user-agency-a-old", "URI:spiffe://fed.test/agency/agency-a/user/old",
      "20200101000000Z", "20210101000000Z"));
  CliRun expired = Cli("check phone:6135550100",
                       WriteProfile("user-agency-a-old", "agency-a"));
  EXPECT_EQ(expired.exit_code, 5) << expired.output;
  EXPECT_THAT(expired.output, HasSubstr("has expired"));
}

TEST(CliRenderTest, AnotherAgencysTextCannotActOnTheTerminal) {
  v1::CheckResult result;
  result.set_canonical("+16135550100");
  v1::Hit* hit = result.add_hits();
  hit->set_agency_id("agency-b");
  hit->mutable_contact()->set_name("Det. X\x1b[2J\x1b[H");
  hit->mutable_contact()->set_phone("+1\r\nno hit   phone:6135550100");
  hit->set_caveat(
      "\xe2\x80\xae"
      "tca ton od");
  std::ostringstream out;
  RenderResult("phone:6135550100", result, out);
  EXPECT_THAT(out.str(), Not(HasSubstr("\x1b")));
  EXPECT_THAT(out.str(), Not(HasSubstr("\r")));
  EXPECT_THAT(out.str(), Not(HasSubstr("\xe2\x80\xae")));
  EXPECT_THAT(out.str(), HasSubstr("Det. X\\x1b[2J"));
  EXPECT_THAT(out.str(), HasSubstr("\\x0d\\x0ano hit"));

  v1::Alert alert;
  alert.set_other_agency_id("agency-b");
  alert.set_other_caveat("\a\a\a");
  out.str("");
  RenderAlert(alert, out);
  EXPECT_THAT(out.str(), Not(HasSubstr("\a")));
}

TEST_F(CliTest, ImportValidatesEveryRowBeforeSendingAny) {
  std::string csv =
      WriteFile("ids.csv",
                "type,value\n"
                "phone,613-555-0100\n"
                "person,\"Picard, Jean-Luc;1962-07-13\"\n"
                "imei,490154203237519\n"
                "# a comment\n"
                "ip,192.0.2.1,2026-11-01T10:00:00Z,2026-11-01T12:00:00Z\n");
  CliRun rejected = Cli(absl::StrCat("import --case=IMP-1 ", kContact, csv));
  EXPECT_EQ(rejected.exit_code, 3) << rejected.output;
  EXPECT_THAT(rejected.output, HasSubstr("line 4"));
  EXPECT_THAT(rejected.output, HasSubstr("nothing was registered"));
  EXPECT_EQ(Cli("cases IMP-1").exit_code, 7);

  CliRun imported =
      Cli(absl::StrCat("import --skip_invalid --case=IMP-1 ", kContact, csv));
  EXPECT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_THAT(imported.output, HasSubstr("imported 3 of 4 rows"));
  CliRun shown = Cli("cases IMP-1");
  EXPECT_EQ(shown.exit_code, 0);
  EXPECT_THAT(shown.output, HasSubstr("jean luc picard;1962-07-13"));
  EXPECT_THAT(shown.output, HasSubstr("192.0.2.1"));
}

TEST_F(CliTest, BulkCheckFromAFile) {
  ASSERT_EQ(
      Cli(absl::StrCat("register --case=B-1 ", kContact, "phone:6135550150"))
          .exit_code,
      0);
  std::string rows = "type,value\n";
  for (int i = 0; i < 2500; ++i) {
    rows += absl::StrCat("phone,+1613555", 1000 + i % 9000, "\n");
  }
  rows += "phone,613-555-0150\n";
  const std::string file = WriteFile("bulk.csv", rows);
  // Piped (as here), the summary alone...
  CliRun bulk = Cli(absl::StrCat("check --batch_size=400 --file=", file));
  EXPECT_EQ(bulk.exit_code, 1) << bulk.output;
  EXPECT_THAT(bulk.output, HasSubstr("2501 identifiers: 1 held"));
  EXPECT_THAT(bulk.output, Not(HasSubstr("line 2502")));
  // ...and every answer with --json, the hit among them.
  CliRun json =
      Cli(absl::StrCat("--json check --batch_size=400 --file=", file));
  EXPECT_EQ(json.exit_code, 1) << json.output;
  EXPECT_THAT(json.output, HasSubstr("\"case_ref\":\"B-1\""));
}

TEST_F(CliTest, CloseRemovesFromMatchingAndListing) {
  ASSERT_EQ(Cli(absl::StrCat("register --case=C-1 ", kContact,
                             "mac:00:1a:2b:3c:4d:5e"))
                .exit_code,
            0);
  EXPECT_EQ(Cli("check mac:001a2b3c4d5e").exit_code, 1);
  EXPECT_EQ(Cli("close --reason=charged C-1").exit_code, 0);
  EXPECT_EQ(Cli("check mac:001a2b3c4d5e").exit_code, 0);
  EXPECT_THAT(Cli("cases").output, Not(HasSubstr("C-1")));
  EXPECT_THAT(Cli("cases --include_closed").output, HasSubstr("closed"));
  EXPECT_EQ(Cli("close C-1").exit_code, 7);
}

}  // namespace
}  // namespace deconfliction
