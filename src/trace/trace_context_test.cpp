// W3C Trace Context: a table of traceparent/tracestate cases from the
// specification (Level 1, and Level 2's random flag), in our own words.
#include "trace/trace_context.hpp"

#include <gtest/gtest.h>

namespace seatflow::trace {
namespace {

constexpr std::string_view kTrace = "12345678901234567890123456789012";
constexpr std::string_view kParent = "00-12345678901234567890123456789012-1234567890123456-01";

struct Case {
  const char* name;
  std::vector<std::string> traceparents;
  std::vector<std::string> tracestates;
  bool continues;              // the trace id is kept
  std::string expected_state;  // formatted tracestate when it continues
};

std::vector<Case> cases() {
  const std::string key256(256, 'z');
  const std::string key257(257, 'z');
  const std::string tenant241(241, 't');
  const std::string tenant242(242, 't');
  const std::string all_key_chars = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
  std::string all_value_chars;
  for (char c = 0x20; c <= 0x7e; ++c) {
    if (c != ',' && c != '=') all_value_chars.push_back(c);
  }
  std::string members32;
  std::string members33;
  for (int i = 1; i <= 33; ++i) {
    const std::string m = "k" + std::to_string(i) + "=" + std::to_string(i);
    if (i <= 32) members32 += (members32.empty() ? "" : ",") + m;
    members33 += (members33.empty() ? "" : ",") + m;
  }
  const std::string p = std::string(kParent);
  return {
      // traceparent: presence and count
      {"no headers", {}, {}, false, ""},
      {"valid traceparent", {p}, {}, true, ""},
      {"two traceparent headers restart the trace", {p, p}, {}, false, ""},
      {"empty traceparent", {""}, {}, false, ""},
      // version
      {"future version cc",
       {"cc-12345678901234567890123456789012-1234567890123456-01"},
       {},
       true,
       ""},
      {"future version with more fields",
       {"cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like"},
       {},
       true,
       ""},
      {"future version followed by a non-dash",
       {"cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like"},
       {},
       false,
       ""},
      {"version 00 with trailing characters",
       {"00-12345678901234567890123456789012-1234567890123456-01."},
       {},
       false,
       ""},
      {"version 00 with a trailing field",
       {"00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like"},
       {},
       false,
       ""},
      {"version ff", {"ff-12345678901234567890123456789012-1234567890123456-01"}, {}, false, ""},
      {"version with an illegal character",
       {".0-12345678901234567890123456789012-1234567890123456-01"},
       {},
       false,
       ""},
      {"version with an illegal second character",
       {"0.-12345678901234567890123456789012-1234567890123456-01"},
       {},
       false,
       ""},
      {"uppercase version",
       {"0A-12345678901234567890123456789012-1234567890123456-01"},
       {},
       false,
       ""},
      {"version too long",
       {"000-12345678901234567890123456789012-1234567890123456-01"},
       {},
       false,
       ""},
      {"version too short",
       {"0-12345678901234567890123456789012-1234567890123456-01"},
       {},
       false,
       ""},
      // trace-id
      {"all-zero trace id",
       {"00-00000000000000000000000000000000-1234567890123456-01"},
       {},
       false,
       ""},
      {"illegal character in trace id",
       {"00-.2345678901234567890123456789012-1234567890123456-01"},
       {},
       false,
       ""},
      {"illegal last character in trace id",
       {"00-1234567890123456789012345678901.-1234567890123456-01"},
       {},
       false,
       ""},
      {"uppercase trace id",
       {"00-1234567890ABCDEF1234567890123456-1234567890123456-01"},
       {},
       false,
       ""},
      {"trace id too long",
       {"00-123456789012345678901234567890123-1234567890123456-01"},
       {},
       false,
       ""},
      {"trace id too short",
       {"00-1234567890123456789012345678901-1234567890123456-01"},
       {},
       false,
       ""},
      // parent-id
      {"all-zero parent id",
       {"00-12345678901234567890123456789012-0000000000000000-01"},
       {},
       false,
       ""},
      {"illegal character in parent id",
       {"00-12345678901234567890123456789012-.234567890123456-01"},
       {},
       false,
       ""},
      {"illegal last character in parent id",
       {"00-12345678901234567890123456789012-123456789012345.-01"},
       {},
       false,
       ""},
      {"uppercase parent id",
       {"00-12345678901234567890123456789012-123456789012345A-01"},
       {},
       false,
       ""},
      {"parent id too long",
       {"00-12345678901234567890123456789012-12345678901234567-01"},
       {},
       false,
       ""},
      {"parent id too short",
       {"00-12345678901234567890123456789012-123456789012345-01"},
       {},
       false,
       ""},
      // trace-flags
      {"illegal character in flags",
       {"00-12345678901234567890123456789012-1234567890123456-.0"},
       {},
       false,
       ""},
      {"illegal second character in flags",
       {"00-12345678901234567890123456789012-1234567890123456-0."},
       {},
       false,
       ""},
      {"flags too long",
       {"00-12345678901234567890123456789012-1234567890123456-001"},
       {},
       false,
       ""},
      {"flags too short",
       {"00-12345678901234567890123456789012-1234567890123456-1"},
       {},
       false,
       ""},
      {"wrong delimiter",
       {"00_12345678901234567890123456789012-1234567890123456-01"},
       {},
       false,
       ""},
      // surrounding whitespace
      {"leading space", {" " + p}, {}, true, ""},
      {"leading tab", {"\t" + p}, {}, true, ""},
      {"trailing space", {p + " "}, {}, true, ""},
      {"trailing tab", {p + "\t"}, {}, true, ""},
      {"spaces and tabs around", {"\t " + p + " \t"}, {}, true, ""},
      // tracestate
      {"tracestate without traceparent is ignored", {}, {"foo=1"}, false, ""},
      {"tracestate with an invalid traceparent is ignored",
       {"00-00000000000000000000000000000000-1234567890123456-01"},
       {"foo=1"},
       false,
       ""},
      {"tracestate kept", {p}, {"foo=1,bar=2"}, true, "foo=1,bar=2"},
      {"empty tracestate header", {p}, {""}, true, ""},
      {"empty header before a valid one", {p}, {"", "foo=1"}, true, "foo=1"},
      {"empty header after a valid one", {p}, {"foo=1", ""}, true, "foo=1"},
      {"several headers combine in order",
       {p},
       {"foo=1,bar=2", "rojo=1,congo=2", "baz=3"},
       true,
       "foo=1,bar=2,rojo=1,congo=2,baz=3"},
      {"empty list members are skipped", {p}, {"foo=1,,bar=2,"}, true, "foo=1,bar=2"},
      {"whitespace around members",
       {p},
       {"foo=1 \t , \t bar=2, \t baz=3"},
       true,
       "foo=1,bar=2,baz=3"},
      {"whitespace at the ends", {p}, {"\t foo=1 \t"}, true, "foo=1"},
      {"duplicated key", {p}, {"foo=1,foo=1"}, true, ""},
      {"duplicated key with other values", {p}, {"foo=1,foo=2"}, true, ""},
      {"duplicated key across headers", {p}, {"foo=1", "foo=2"}, true, ""},
      {"every allowed key character", {p}, {all_key_chars + "=1"}, true, all_key_chars + "=1"},
      {"every allowed value character",
       {p},
       {"foo=" + all_value_chars},
       true,
       "foo=" + all_value_chars},
      {"multi-tenant key",
       {p},
       {all_key_chars + "@a-z0-9_-*/=1"},
       true,
       all_key_chars + "@a-z0-9_-*/=1"},
      {"space inside a key", {p}, {"foo =1"}, true, ""},
      {"uppercase key", {p}, {"FOO=1"}, true, ""},
      {"dot in key", {p}, {"foo.bar=1"}, true, ""},
      {"empty system id", {p}, {"foo@=1,bar=2"}, true, ""},
      {"empty tenant id", {p}, {"@foo=1,bar=2"}, true, ""},
      {"two at signs", {p}, {"foo@@bar=1,bar=2"}, true, ""},
      {"three parts", {p}, {"foo@bar@baz=1,bar=2"}, true, ""},
      {"32 members", {p}, {members32}, true, members32},
      {"33 members", {p}, {members33}, true, ""},
      {"key of 256 characters", {p}, {"foo=1", key256 + "=1"}, true, "foo=1," + key256 + "=1"},
      {"key of 257 characters", {p}, {"foo=1", key257 + "=1"}, true, ""},
      {"tenant of 241 and system of 14",
       {p},
       {"foo=1", tenant241 + "@" + std::string(14, 'v') + "=1"},
       true,
       "foo=1," + tenant241 + "@" + std::string(14, 'v') + "=1"},
      {"tenant of 242", {p}, {"foo=1", tenant242 + "@v=1"}, true, ""},
      {"system of 15", {p}, {"foo=1", "t@" + std::string(15, 'v') + "=1"}, true, ""},
      {"equals sign in value", {p}, {"foo=bar=baz"}, true, ""},
      {"empty value", {p}, {"foo=,bar=3"}, true, ""},
      {"value with a trailing space inside the member", {p}, {"foo=a b"}, true, "foo=a b"},
      {"value of 257 characters", {p}, {"foo=" + std::string(257, 'x')}, true, ""},
      {"member without equals", {p}, {"foo"}, true, ""},
  };
}

TEST(TraceContext, SpecificationCases) {
  const auto all = cases();
  ASSERT_GE(all.size(), 40u);
  for (const Case& c : all) {
    SCOPED_TRACE(c.name);
    std::vector<std::string_view> tp(c.traceparents.begin(), c.traceparents.end());
    std::vector<std::string_view> ts(c.tracestates.begin(), c.tracestates.end());
    auto context = extract(tp, ts);
    if (!c.continues) {
      EXPECT_FALSE(context.has_value());
      continue;
    }
    ASSERT_TRUE(context.has_value());
    EXPECT_EQ(context->trace_id.hex(), kTrace);
    EXPECT_EQ(context->span_id.hex(), "1234567890123456");
    EXPECT_TRUE(context->remote);
    EXPECT_EQ(context->trace_state.format(), c.expected_state);
  }
}

TEST(TraceContext, FormatsVersion00AndKeepsOnlyKnownFlags) {
  auto context = parse_traceparent("00-12345678901234567890123456789012-1234567890123456-ff");
  ASSERT_TRUE(context);
  EXPECT_EQ(context->flags, 0xff);
  EXPECT_EQ(format_traceparent(*context),
            "00-12345678901234567890123456789012-1234567890123456-03");
  auto future = parse_traceparent("cc-12345678901234567890123456789012-1234567890123456-01-x");
  ASSERT_TRUE(future);
  EXPECT_EQ(format_traceparent(*future), "00-12345678901234567890123456789012-1234567890123456-01");
}

TEST(TraceContext, SampledAndRandomFlags) {
  auto sampled = parse_traceparent("00-12345678901234567890123456789012-1234567890123456-01");
  auto unsampled = parse_traceparent("00-12345678901234567890123456789012-1234567890123456-00");
  auto random = parse_traceparent("00-12345678901234567890123456789012-1234567890123456-02");
  ASSERT_TRUE(sampled && unsampled && random);
  EXPECT_TRUE(sampled->sampled());
  EXPECT_FALSE(unsampled->sampled());
  EXPECT_FALSE(random->sampled());
  EXPECT_EQ(random->flags & kFlagRandom, kFlagRandom);
}

TEST(TraceState, SetMovesTheMemberToTheFront) {
  auto state = TraceState::parse({"a=1,b=2,c=3"});
  ASSERT_TRUE(state);
  state->set("b", "9");
  EXPECT_EQ(state->format(), "b=9,a=1,c=3");
  state->set("new", "x");
  EXPECT_EQ(state->format(), "new=x,b=9,a=1,c=3");
  EXPECT_EQ(state->get("a"), "1");
  EXPECT_FALSE(state->get("zz"));
}

TEST(TraceState, PropagationTruncatesLongMembersFirst) {
  // 3 members of 200 characters and 10 short ones: over 512, the long ones go first.
  std::vector<std::string> members;
  members.reserve(13);
  for (int i = 0; i < 3; ++i)
    members.push_back("long" + std::to_string(i) + "=" + std::string(194, 'x'));
  for (int i = 0; i < 10; ++i) members.push_back("s" + std::to_string(i) + "=1");
  std::string header;
  for (const auto& m : members) header += (header.empty() ? "" : ",") + m;
  auto state = TraceState::parse({header});
  ASSERT_TRUE(state);
  const std::string out = state->format();
  EXPECT_LE(out.size(), TraceState::kMaxPropagatedLength);
  EXPECT_NE(out.find("s9=1"), std::string::npos) << "short members survive";
  EXPECT_NE(out.find("long0="), std::string::npos) << "the leftmost long member fits";
  EXPECT_EQ(out.find("long2="), std::string::npos) << "long members go from the right";
}

TEST(TraceIds, HexRoundTrip) {
  auto id = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->hex(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_FALSE(TraceId::from_hex("0AF7651916CD43DD8448EB211C80319C"));
  EXPECT_FALSE(SpanId::from_hex("b7ad6b716920333"));
  EXPECT_EQ(SpanId::from_hex("b7ad6b7169203331")->hex(), "b7ad6b7169203331");
}

}  // namespace
}  // namespace seatflow::trace
