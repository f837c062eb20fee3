// Table-driven tests of identifier canonicalization: for every type, pairs
// that must be equal, pairs that must differ, and inputs that must be
// rejected with a message naming the type and the reason.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "identifiers/canonical.h"

namespace deconfliction {
namespace {

using ::testing::HasSubstr;

struct Case {
  v1::IdentifierType type;
  std::string a;
  std::string b;
};

v1::Identifier Make(v1::IdentifierType type, const std::string& value) {
  v1::Identifier identifier;
  identifier.set_type(type);
  identifier.set_value(value);
  if (IsTimeBound(type)) {
    identifier.mutable_observed()->mutable_start()->set_seconds(1700000000);
    identifier.mutable_observed()->mutable_end()->set_seconds(1700003600);
  }
  return identifier;
}

absl::StatusOr<CanonicalIdentifier> Canon(v1::IdentifierType type,
                                          const std::string& value) {
  return Canonicalize(Make(type, value), CanonicalizeOptions{"CA"});
}

std::string Describe(const Case& c) {
  return IdentifierTypeName(c.type) + " \"" + c.a + "\" / \"" + c.b + "\"";
}

using T = v1::IdentifierType;
constexpr T kPhone = v1::IDENTIFIER_TYPE_PHONE;
constexpr T kEmail = v1::IDENTIFIER_TYPE_EMAIL;
constexpr T kIp = v1::IDENTIFIER_TYPE_IP_ADDRESS;
constexpr T kUser = v1::IDENTIFIER_TYPE_USERNAME;
constexpr T kCrypto = v1::IDENTIFIER_TYPE_CRYPTO_ADDRESS;
constexpr T kHash = v1::IDENTIFIER_TYPE_FILE_HASH;
constexpr T kImei = v1::IDENTIFIER_TYPE_IMEI;
constexpr T kMac = v1::IDENTIFIER_TYPE_MAC_ADDRESS;
constexpr T kGuid = v1::IDENTIFIER_TYPE_P2P_GUID;
constexpr T kPerson = v1::IDENTIFIER_TYPE_PERSON;
constexpr T kPlate = v1::IDENTIFIER_TYPE_VEHICLE_PLATE;

const std::vector<Case>& EqualPairs() {
  static const auto* pairs = new std::vector<Case>{
      {kPhone, "613-555-0100", "+1 (613) 555-0100"},
      {kPhone, "(613) 555 0100", "+16135550100"},
      {kPhone, "+44 20 7946 0958", "+442079460958"},
      {kPhone, "011 44 20 7946 0958", "+44 20 7946 0958"},
      {kEmail, "Alice@Example.COM", "alice@example.com"},
      {kEmail, " bob@example.org. ", "bob@example.org"},
      {kEmail, "John.Smith+tips@gmail.com", "johnsmith@googlemail.com"},
      {kEmail, "j.o.h.n.smith@gmail.com", "johnsmith@gmail.com"},
      {kEmail, "someone+x@outlook.com", "someone@outlook.com"},
      {kEmail, "mailto:carol@example.net", "carol@example.net"},
      {kIp, "192.0.2.1", "::ffff:192.0.2.1"},
      {kIp, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
      {kIp, "[2001:db8::1]", "2001:0db8:0000::0001"},
      {kUser, "x:@SomeOne", "twitter:someone"},
      {kUser, "Instagram:Foo.Bar", "ig:@foo.bar"},
      {kUser, "telegram: @Spy_01", "tg:spy_01"},
      {kCrypto, "btc:1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
       "bitcoin: 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"},
      {kCrypto, "btc:BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
       "btc:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
      {kCrypto,
       "btc:bc1pqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7rusqwk0jyn",
       "btc:BC1PQYPQXPQ9QCRSSZG2PVXQ6RS0ZQG3YYC5Z5TPWXQERGD3C8G7RUSQWK0JYN"},
      {kCrypto, "eth:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
       "ethereum:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"},
      {kCrypto, "eth:0xFB6916095CA1DF60BB79CE92CE3EA74C37C5D359",
       "eth:0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"},
      {kHash, "D41D8CD98F00B204E9800998ECF8427E",
       "md5:d41d8cd98f00b204e9800998ecf8427e"},
      {kHash,
       "SHA256:"
       "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {kImei, "49-015420-323751-8", "490154203237518"},
      {kImei, "49015420323751", "490154203237518"},
      {kImei, "4901542032375101", "49 015420 323751 8"},
      {kMac, "00:1A:2B:3C:4D:5E", "001a.2b3c.4d5e"},
      {kMac, "00-1a-2b-3c-4d-5e", "001A2B3C4D5E"},
      {kGuid, "{6F9619FF-8B86-D011-B42D-00C04FC964FF}",
       "6f9619ff8b86d011b42d00c04fc964ff"},
      {kPerson, "Jean-Luc Picard;1962-07-13", "PICARD, Jean Luc ;1962-07-13"},
      {kPerson, "Zoë  Ñúñez;1990-01-02", "zoe nunez;1990-01-02"},
      {kPerson, "Johann Strauß;1925-10-25", "johann strauss;1925-10-25"},
      {kPerson, "Seán O'Brien;1980-05-06", "sean obrien;1980-05-06"},
      {kPerson, "Łukasz Søren;1970-01-01", "lukasz soren;1970-01-01"},
      {kPlate, "ca-on:abcd 123", "CA-ON:ABCD-123"},
      {kPlate, "GB:AB12 CDE", "gb:ab12cde"},
  };
  return *pairs;
}

const std::vector<Case>& UnequalPairs() {
  static const auto* pairs = new std::vector<Case>{
      {kPhone, "613-555-0100", "613-555-0101"},
      {kPhone, "+1 613 555 0100", "+44 1632 960100"},
      {kEmail, "alice@example.com", "alice@example.org"},
      {kEmail, "a.lice@example.com", "alice@example.com"},
      {kEmail, "alice+x@example.com", "alice@example.com"},
      {kIp, "192.0.2.1", "192.0.2.2"},
      {kIp, "2001:db8::1", "2001:db8::2"},
      {kUser, "x:someone", "instagram:someone"},
      {kUser, "unlistedsite:Someone", "unlistedsite:someone"},
      {kCrypto, "btc:1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
       "btc:3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"},
      {kHash, "d41d8cd98f00b204e9800998ecf8427e",
       "d41d8cd98f00b204e9800998ecf8427f"},
      {kImei, "490154203237518", "356938035643809"},
      {kMac, "00:1a:2b:3c:4d:5e", "00:1a:2b:3c:4d:5f"},
      {kGuid, "6f9619ff8b86d011b42d00c04fc964ff",
       "6f9619ff8b86d011b42d00c04fc964fe"},
      {kPerson, "Jean-Luc Picard;1962-07-13", "Jean-Luc Picard;1962-07-14"},
      {kPerson, "Jean Picard;1962-07-13", "Jean-Luc Picard;1962-07-13"},
      {kPlate, "CA-ON:ABCD123", "CA-QC:ABCD123"},
      {kPlate, "GB:AB12CDE", "GB:AB12CDF"},
  };
  return *pairs;
}

struct Rejection {
  v1::IdentifierType type;
  std::string value;
  std::string reason;  // a fragment of the message
};

const std::vector<Rejection>& Rejections() {
  static const auto* rejections = new std::vector<Rejection>{
      {kPhone, "hello", "not a phone number"},
      {kPhone, "12", "too short"},
      {kPhone, "+1 613 555 0100 999 999 9999", "too long"},
      {kEmail, "no-at-sign.example.com", "no '@'"},
      {kEmail, "@example.com", "empty local part"},
      {kEmail, "alice@localhost", "no dot"},
      {kEmail, "al ice@example.com", "local part has the character"},
      {kEmail, "+tag@gmail.com", "only an alias tag"},
      {kIp, "256.1.1.1", "not an IPv4 or IPv6 address"},
      {kIp, "010.0.0.1", "not an IPv4 or IPv6 address"},
      {kIp, "10.0.0.0/8", "prefix length"},
      {kIp, "fe80::1%eth0", "zone index"},
      {kUser, "someone", "platform:handle"},
      {kUser, "x:@", "handle is empty"},
      {kUser, "x:two words", "space"},
      {kCrypto, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "chain:address"},
      {kCrypto, "btc:1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "checksum"},
      {kCrypto, "btc:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum"},
      {kCrypto, "btc:bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "mixed case"},
      {kCrypto, "eth:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "EIP-55"},
      {kCrypto,
       "btc:bc1pqypqxpq9qcrsszg2pvxq6rs0zqg3yyc5z5tpwxqergd3c8g7rusqwk0jyq",
       "bech32m checksum"},
      {kCrypto, "eth:0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea", "40 hex"},
      {kCrypto, "ltc:1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "version byte"},
      {kCrypto, "zzz:abc", "unknown chain"},
      {kHash, "abc", "expected 32 (MD5)"},
      {kHash,
       "md5:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "does not fit"},
      {kHash, "zz1d8cd98f00b204e9800998ecf8427e", "hex digits"},
      {kImei, "490154203237519", "Luhn"},
      {kImei, "4901542032", "expected 14, 15"},
      {kImei, "49015420323751a", "only digits"},
      {kMac, "00:1a:2b:3c:4d", "6 bytes"},
      {kMac, "ff:ff:ff:ff:ff:ff", "broadcast"},
      {kGuid, "6f9619ff", "32 hex digits"},
      {kPerson, "Jean-Luc Picard", "date of birth"},
      {kPerson, "Jean-Luc Picard;1962-02-30", "real date"},
      {kPerson, " - ;1962-07-13", "name is empty"},
      {kPlate, "ABCD123", "jurisdiction:plate"},
      {kPlate, "Ontario:ABCD123", "ISO 3166"},
      // Shaped like a code, but no country or subdivision: refused, with
      // the likely full code suggested (it would never match CA-ON).
      {kPlate, "ON:ABCD 123", "did you mean CA-ON (Ontario)"},
      {kPlate, "CA-ONT:ABCD 123", "did you mean CA-ON (Ontario)"},
      {kPlate, "XQ:ABCD 123", "not an ISO 3166-1 country"},
      {kPlate, "CA-ON:AB#CD", "only Latin letters"},
      {v1::IDENTIFIER_TYPE_UNSPECIFIED, "x", "type is not set"},
  };
  return *rejections;
}

TEST(CanonicalizeTest, EqualPairsHaveOneForm) {
  for (const Case& c : EqualPairs()) {
    absl::StatusOr<CanonicalIdentifier> a = Canon(c.type, c.a);
    absl::StatusOr<CanonicalIdentifier> b = Canon(c.type, c.b);
    ASSERT_TRUE(a.ok()) << Describe(c) << ": " << a.status();
    ASSERT_TRUE(b.ok()) << Describe(c) << ": " << b.status();
    EXPECT_EQ(a->form, b->form) << Describe(c);
  }
}

TEST(CanonicalizeTest, UnequalPairsDiffer) {
  for (const Case& c : UnequalPairs()) {
    absl::StatusOr<CanonicalIdentifier> a = Canon(c.type, c.a);
    absl::StatusOr<CanonicalIdentifier> b = Canon(c.type, c.b);
    ASSERT_TRUE(a.ok()) << Describe(c) << ": " << a.status();
    ASSERT_TRUE(b.ok()) << Describe(c) << ": " << b.status();
    EXPECT_NE(a->form, b->form) << Describe(c);
  }
}

TEST(CanonicalizeTest, PlatesOfEveryCountryAndSubdivisionAreAccepted) {
  for (const char* plate :
       {"GB:AB12 CDE", "US-NY:ABC 1234", "DE:B AB 123", "FR-75:AB-123-CD",
        "CA-QC:123 ABC", "AU-NSW:ABC12D"}) {
    EXPECT_TRUE(Canon(kPlate, plate).ok())
        << plate << ": " << Canon(kPlate, plate).status();
  }
}

TEST(CanonicalizeTest, RejectionsNameTypeValueAndReason) {
  for (const Rejection& r : Rejections()) {
    absl::StatusOr<CanonicalIdentifier> result = Canon(r.type, r.value);
    ASSERT_FALSE(result.ok()) << r.value << " gave " << result->form;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(result.status().message()),
                HasSubstr(IdentifierTypeName(r.type)));
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(r.reason))
        << r.value;
  }
}

TEST(CanonicalizeTest, CanonicalFormsAreTheDocumentedOnes) {
  EXPECT_EQ(Canon(kPhone, "613-555-0100")->form, "+16135550100");
  EXPECT_EQ(Canon(kIp, "::FFFF:10.1.2.3")->form, "10.1.2.3");
  EXPECT_EQ(Canon(kMac, "001A2B3C4D5E")->form, "00:1a:2b:3c:4d:5e");
  EXPECT_EQ(Canon(kImei, "49015420323751")->form, "490154203237518");
  EXPECT_EQ(Canon(kPerson, "Picard, Jean-Luc;1962-07-13")->form,
            "jean luc picard;1962-07-13");
  EXPECT_EQ(Canon(kUser, "twitter:@Jack")->form, "x:jack");
  EXPECT_EQ(
      Canon(kCrypto, "btc:BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")->form,
      "btc:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
}

TEST(CanonicalizeTest, PhoneRegionComesFromOptions) {
  v1::Identifier local = Make(kPhone, "020 7946 0958");
  EXPECT_EQ(Canonicalize(local, {"GB"})->form, "+442079460958");
  absl::StatusOr<CanonicalIdentifier> no_region = Canonicalize(local, {""});
  EXPECT_FALSE(no_region.ok());
  EXPECT_THAT(std::string(no_region.status().message()),
              HasSubstr("country calling code"));
  EXPECT_THAT(std::string(Canonicalize(local, {"Q1"}).status().message()),
              HasSubstr("not an ISO 3166-1"));
}

TEST(CanonicalizeTest, TimeBoundTypesNeedAWindow) {
  v1::Identifier ip;
  ip.set_type(kIp);
  ip.set_value("192.0.2.1");
  absl::StatusOr<CanonicalIdentifier> result = Canonicalize(ip, {});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("observed: required"));
  ip.mutable_observed()->mutable_start()->set_seconds(20);
  ip.mutable_observed()->mutable_end()->set_seconds(10);
  EXPECT_THAT(std::string(Canonicalize(ip, {}).status().message()),
              HasSubstr("end is before start"));
  ip.mutable_observed()->mutable_end()->set_seconds(30);
  EXPECT_TRUE(Canonicalize(ip, {}).ok());
}

TEST(CanonicalizeTest, OversizedValueIsRejected) {
  absl::StatusOr<CanonicalIdentifier> result =
      Canon(kEmail, std::string(5000, 'a') + "@example.com");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("longer than"));
}

TEST(WindowsOverlapTest, ClosedAndOpenBounds) {
  auto window = [](int64_t start, int64_t end) {
    v1::TimeWindow w;
    if (start >= 0) w.mutable_start()->set_seconds(start);
    if (end >= 0) w.mutable_end()->set_seconds(end);
    return w;
  };
  EXPECT_TRUE(WindowsOverlap(window(10, 20), window(15, 25)));
  EXPECT_TRUE(WindowsOverlap(window(10, 20), window(20, 30)));
  EXPECT_FALSE(WindowsOverlap(window(10, 20), window(21, 30)));
  EXPECT_FALSE(WindowsOverlap(window(21, 30), window(10, 20)));
  EXPECT_TRUE(WindowsOverlap(window(10, -1), window(100, 200)));
  EXPECT_FALSE(WindowsOverlap(window(-1, 5), window(10, 20)));
}

TEST(IdentifierTypeTest, ParsesNamesAndAliases) {
  EXPECT_EQ(*ParseIdentifierType("phone"), kPhone);
  EXPECT_EQ(*ParseIdentifierType("IDENTIFIER_TYPE_EMAIL"), kEmail);
  EXPECT_EQ(*ParseIdentifierType("ip"), kIp);
  EXPECT_EQ(*ParseIdentifierType("Plate"), kPlate);
  absl::StatusOr<v1::IdentifierType> bad = ParseIdentifierType("fax");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("phone, email"));
  EXPECT_FALSE(ParseIdentifierType("unspecified").ok());
}

}  // namespace
}  // namespace deconfliction
