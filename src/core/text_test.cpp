#include "core/text.hpp"

#include <gtest/gtest.h>

namespace seatflow {
namespace {

TEST(TextTest, IequalsFoldsAsciiLettersOnly) {
  EXPECT_TRUE(iequals("Content-Type", "content-type"));
  EXPECT_TRUE(iequals("FROM", "from"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("from", "fro"));
  EXPECT_FALSE(iequals("from", "form"));
  // Bytes one case step (32) apart that are not letters stay apart.
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("[", "{"));
  EXPECT_FALSE(iequals("\xC4", "\xE4"));  // Latin-1 Ä and ä: not ASCII
  EXPECT_TRUE(iequals("\xC3\x84", "\xC3\x84"));
}

TEST(TextTest, TrimTakesSpacesAndTabsOffBothEnds) {
  EXPECT_EQ(trim(" \t value \t"), "value");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(trim("a b"), "a b");
}

// Every length up to three words, and a byte of 0x80 or above at each
// position of each: is_ascii reads words, halves and overlapping tails.
TEST(TextTest, IsAsciiFindsANonAsciiByteWhereverItIs) {
  for (size_t n = 0; n <= 24; ++n) {
    std::string s(n, 'a');
    EXPECT_TRUE(is_ascii(s)) << n;
    for (size_t i = 0; i < n; ++i) {
      for (const char high : {'\x80', '\xff', '\xc3'}) {
        s[i] = high;
        EXPECT_FALSE(is_ascii(s)) << "length " << n << ", at " << i;
        s[i] = '\x7f';
        EXPECT_TRUE(is_ascii(s)) << "length " << n << ", at " << i;
        s[i] = 'a';
      }
    }
  }
}

}  // namespace
}  // namespace seatflow
