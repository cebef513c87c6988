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

}  // namespace
}  // namespace seatflow
