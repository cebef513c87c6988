#include "services/common/json_fields.hpp"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace seatflow::services {
namespace {

TEST(JsonFieldsTest, ReadsFieldsAndNamesTheWrongOne) {
  const auto v = boost::json::parse(R"({"name":"Gala","count":3,"list":[1],"bad":"x"})");
  const auto& o = v.get_object();
  EXPECT_EQ(*string_field(o, "name"), "Gala");
  EXPECT_EQ(*integer_field(o, "count", 1, 10), 3);
  EXPECT_EQ((*array_field(o, "list", 5))->size(), 1U);
  EXPECT_FALSE(*optional_string_field(o, "missing"));

  auto missing = string_field(o, "venue");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "field 'venue' is required");
  EXPECT_EQ(integer_field(o, "bad", 0, 1).error().message(), "field 'bad' must be an integer");
  EXPECT_EQ(integer_field(o, "count", 5, 9).error().message(), "field 'count' must be 5 to 9");
  EXPECT_FALSE(string_field(o, "name", 3));
  EXPECT_FALSE(as_object(boost::json::parse("[]")));
}

TEST(JsonFieldsTest, ACurrencyIsAnIso4217CodeInCapitals) {
  const auto v = boost::json::parse(
      R"({"eur":"EUR","lower":"eur","short":"EU","long":"EURO","space":"E R","number":978})");
  const auto& o = v.get_object();
  EXPECT_EQ(*currency_field(o, "eur"), "EUR");
  for (const char* key : {"lower", "short", "long", "space"}) {
    auto code = currency_field(o, key);
    ASSERT_FALSE(code) << key;
    EXPECT_EQ(code.error().message(),
              fmt::format("field '{}' must be an ISO 4217 code in capitals, such as EUR", key));
  }
  EXPECT_EQ(currency_field(o, "number").error().message(), "field 'number' must be a string");
  EXPECT_EQ(currency_field(o).error().message(), "field 'currency' is required");
}

TEST(Rfc3339Test, ParsesAndFormats) {
  EXPECT_EQ(*parse_rfc3339("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(*parse_rfc3339("2027-03-01T19:30:00.250Z"), 1803929400250);
  EXPECT_EQ(*parse_rfc3339("2027-03-01T20:30:00+01:00"), 1803929400000);
  EXPECT_EQ(format_rfc3339(1803929400250), "2027-03-01T19:30:00.250Z");
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(951782400007), "2000-02-29T00:00:00.007Z");  // a leap day
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(253402300799999), "9999-12-31T23:59:59.999Z");
  for (const int64_t ms :
       {int64_t{1}, int64_t{86'399'999}, int64_t{1'709'251'199'123}, int64_t{4'102'444'800'000}}) {
    EXPECT_EQ(*parse_rfc3339(format_rfc3339(ms)), ms) << ms;
  }
  for (const char* bad : {"", "2027-03-01", "2027-13-01T00:00:00Z", "2027-03-01T19:30:00",
                          "2027-03-01T19:30:00.Z", "2027-03-01 19:30:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

}  // namespace
}  // namespace seatflow::services
