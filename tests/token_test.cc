#include "identifiers/token.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/temp_dir.h"

namespace deconfliction {
namespace {

using ::testing::HasSubstr;

const std::string kKey(32, 'k');

CanonicalIdentifier Phone(const std::string& form) {
  return {v1::IDENTIFIER_TYPE_PHONE, form};
}

TEST(HmacTokenFunctionTest, DeterministicAndKeyed) {
  auto function = HmacTokenFunction::FromKey(kKey);
  ASSERT_TRUE(function.ok());
  std::string token = (*function)->Tokenize(Phone("+16135550100"));
  EXPECT_EQ(token.size(), kTokenBytes);
  EXPECT_EQ(token, (*function)->Tokenize(Phone("+16135550100")));
  EXPECT_NE(token, (*function)->Tokenize(Phone("+16135550101")));
  auto other = HmacTokenFunction::FromKey(std::string(32, 'q'));
  EXPECT_NE(token, (*other)->Tokenize(Phone("+16135550100")));
}

TEST(HmacTokenFunctionTest, TypeIsPartOfTheToken) {
  auto function = HmacTokenFunction::FromKey(kKey);
  CanonicalIdentifier as_username{v1::IDENTIFIER_TYPE_USERNAME, "x:abc"};
  CanonicalIdentifier as_plate{v1::IDENTIFIER_TYPE_VEHICLE_PLATE, "x:abc"};
  EXPECT_NE((*function)->Tokenize(as_username),
            (*function)->Tokenize(as_plate));
}

TEST(HmacTokenFunctionTest, MatchesAnIndependentHmac) {
  // HMAC-SHA-256 of the documented encoding, computed by the openssl tool.
  TempDir dir;
  std::string key_path = dir.path() + "/key";
  std::string message_path = dir.path() + "/message";
  std::ofstream(key_path) << kKey;
  std::string message("deconfliction.v1/token\0", 23);
  message += std::string("\0\0\0\1\0\0\0\x0c", 8) + "+16135550100";
  std::ofstream(message_path, std::ios::binary) << message;
  std::string command = "openssl dgst -sha256 -hmac " + kKey + " -binary < " +
                        message_path + " > " + dir.path() + "/mac";
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::ifstream in(dir.path() + "/mac", std::ios::binary);
  std::string expected((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
  auto function = HmacTokenFunction::FromKey(kKey);
  EXPECT_EQ((*function)->Tokenize(Phone("+16135550100")), expected);
}

TEST(HmacTokenFunctionTest, KeyFileRules) {
  TempDir dir;
  std::string path = dir.path() + "/federation.key";
  auto missing = HmacTokenFunction::FromKeyFile(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);

  std::ofstream(path) << std::string(16, 'k');
  chmod(path.c_str(), 0600);
  auto short_key = HmacTokenFunction::FromKeyFile(path);
  EXPECT_EQ(short_key.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(short_key.status().message()), HasSubstr("16 bytes"));

  std::ofstream(path) << kKey;
  chmod(path.c_str(), 0644);
  auto readable = HmacTokenFunction::FromKeyFile(path);
  EXPECT_EQ(readable.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(readable.status().message()), HasSubstr("chmod 600"));

  chmod(path.c_str(), 0600);
  auto good = HmacTokenFunction::FromKeyFile(path);
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ((*good)->Tokenize(Phone("+1")),
            (*HmacTokenFunction::FromKey(kKey))->Tokenize(Phone("+1")));
}

}  // namespace
}  // namespace deconfliction
