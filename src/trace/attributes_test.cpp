#include "trace/attributes.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace seatflow::trace {
namespace {

TEST(AttributeList, KeepsEveryTypeAndReadsItBack) {
  AttributeList list;
  list.set_text("text", "value");
  list.set_text("empty", "");
  list.set_int("negative", -5);
  list.set_int("smallest", std::numeric_limits<int64_t>::min());
  list.set_double("ratio", 0.25);
  list.set_bool("flag", true);
  list.set_text("long", std::string(300, 'x'));  // a two-byte length
  const auto all = list.decode();
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all[0].key, "text");
  EXPECT_EQ(std::get<std::string>(all[0].value), "value");
  EXPECT_EQ(std::get<std::string>(all[1].value), "");
  EXPECT_EQ(std::get<int64_t>(all[2].value), -5);
  EXPECT_EQ(std::get<int64_t>(all[3].value), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(std::get<double>(all[4].value), 0.25);
  EXPECT_TRUE(std::get<bool>(all[5].value));
  EXPECT_EQ(std::get<std::string>(all[6].value), std::string(300, 'x'));
  EXPECT_EQ(std::get<int64_t>(*list.find("negative")), -5);
  EXPECT_FALSE(list.find("missing"));
}

TEST(AttributeList, ASecondValueReplacesTheFirstEvenAmongLookalikeKeys) {
  AttributeList list;
  // More keys than the quick check has bits: many share one, and only the
  // comparison of the keys tells them apart.
  constexpr int kKeys = 100;
  for (int i = 0; i < kKeys; ++i) list.set_text("key." + std::to_string(i), "first");
  for (int i = 0; i < kKeys; i += 2) list.set_int("key." + std::to_string(i), i);
  const auto all = list.decode();
  ASSERT_EQ(all.size(), static_cast<size_t>(kKeys));
  // The odd keys kept their place; the even ones, set again, come last.
  for (int i = 0; i < kKeys / 2; ++i) {
    EXPECT_EQ(all[i].key, "key." + std::to_string(2 * i + 1));
    EXPECT_EQ(std::get<std::string>(all[i].value), "first");
    EXPECT_EQ(all[kKeys / 2 + i].key, "key." + std::to_string(2 * i));
    EXPECT_EQ(std::get<int64_t>(all[kKeys / 2 + i].value), 2 * i);
  }
}

TEST(AttributeList, SetAllAddsAnotherListAsSettingItsAttributesOneByOneWould) {
  const AttributeList shared{{"http.request.method", "GET"}, {"url.scheme", "http"}};
  AttributeList list;
  list.set_text("url.path", "/a");
  list.set_all(shared);  // none of its keys here yet: copied whole
  list.set_int("http.response.status_code", 200);
  auto all = list.decode();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[1].key, "http.request.method");
  EXPECT_EQ(all[2].key, "url.scheme");
  EXPECT_EQ(std::get<int64_t>(*list.find("http.response.status_code")), 200);
  // Its keys now count as set: setting one again replaces it.
  list.set_text("url.scheme", "https");
  EXPECT_EQ(list.size(), 4u);
  EXPECT_EQ(std::get<std::string>(*list.find("url.scheme")), "https");

  // A key already set is replaced, not repeated.
  AttributeList again;
  again.set_text("url.scheme", "https");
  again.set_int("other", 1);
  again.set_all(shared);
  all = again.decode();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].key, "other");
  EXPECT_EQ(std::get<std::string>(*again.find("url.scheme")), "http");
  EXPECT_EQ(std::get<std::string>(*again.find("http.request.method")), "GET");
}

TEST(AttributeList, InvalidUtf8IsRepairedInKeysAndValues) {
  AttributeList list;
  list.set_text("k\xff", "caf\xc3\xa9 \xc3");
  const auto all = list.decode();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].key, "k\xef\xbf\xbd");
  EXPECT_EQ(std::get<std::string>(all[0].value), "caf\xc3\xa9 \xef\xbf\xbd");
}

TEST(AttributeList, IsOneSpanFieldPerAttributeAndClearsToNothing) {
  AttributeList list{{"a", int64_t{1}}, {"b", true}};
  // Span.attributes (9, length-delimited), its length, KeyValue.key "a",
  // KeyValue.value { int_value = 1 }.
  EXPECT_EQ(list.wire().substr(0, 9), std::string_view("\x4a\x07\x0a\x01"
                                                       "a\x12\x02\x18\x01",
                                                       9));
  EXPECT_EQ(list.size(), 2u);
  list.clear();
  EXPECT_TRUE(list.empty());
  EXPECT_TRUE(list.wire().empty());
  list.set_bool("a", false);
  EXPECT_EQ(list.size(), 1u);
}

}  // namespace
}  // namespace seatflow::trace
