#include "base/untrusted_text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace deconfliction {
namespace {

using ::testing::HasSubstr;

TEST(UntrustedTextTest, PrintableTextInAnyScriptIsAccepted) {
  for (const char* text :
       {"Det. A. Example", "Insp. Lefèvre, SPVM", "Сержант Иванов", "警部 山田",
        "call before acting 👮", ""}) {
    EXPECT_TRUE(CheckFreeText(text, "caveat", 512).ok()) << text;
  }
}

TEST(UntrustedTextTest, ControlCharactersAreRefusedNamingTheField) {
  for (const std::string& text :
       {std::string("a\x1b[2Jb"), std::string("bell\a"), std::string("a\nb"),
        std::string("tab\there"), std::string("nul\0x", 5),
        std::string("del\x7f"), std::string("c1 \xc2\x9b"),
        std::string("rlo \xe2\x80\xae"), std::string("isolate \xe2\x81\xa6")}) {
    absl::Status status = CheckFreeText(text, "contact.name", 512);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("contact.name: control character"));
  }
}

TEST(UntrustedTextTest, BrokenUtf8AndOversizeAreRefused) {
  for (const std::string& text :
       {std::string("\xff"), std::string("\xc0\xaf"),  // overlong '/'
        std::string("\xed\xa0\x80"),                   // a surrogate
        std::string("cut \xe2\x82")}) {
    EXPECT_THAT(CheckFreeText(text, "caveat", 512).message(),
                HasSubstr("caveat: not UTF-8"));
  }
  EXPECT_THAT(CheckFreeText(std::string(513, 'a'), "caveat", 512).message(),
              HasSubstr("caveat: longer than 512 bytes"));
}

TEST(UntrustedTextTest, EscapingLeavesNothingForTheTerminalToObey) {
  EXPECT_EQ(EscapeForTerminal("a\x1b[2J\nno hit\\"),
            "a\\x1b[2J\\x0ano hit\\\\");
  EXPECT_EQ(EscapeForTerminal("\xe2\x80\xae"
                              "abc"),
            "\\u{202e}abc");
  EXPECT_EQ(EscapeForTerminal("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(EscapeForTerminal("Lefèvre 👮"), "Lefèvre 👮");
}

TEST(UntrustedTextTest, AnEchoIsShortAndEscaped) {
  const std::string echo = EchoForError(std::string(100000, 'Z'));
  EXPECT_EQ(echo, std::string(kMaxEchoBytes, 'Z') + "...");
  // Cut on a character boundary.
  const std::string accents(30, 'e');
  EXPECT_EQ(EchoForError(accents + "ééééééé"), accents + "ééééé...");
  EXPECT_EQ(EchoForError("\x1b]0;x\a"), "\\x1b]0;x\\x07");
}

}  // namespace
}  // namespace deconfliction
