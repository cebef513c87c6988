#include "core/log.hpp"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace seatflow::log {
namespace {

std::vector<std::string>* g_lines = nullptr;
bool g_in_span = false;

void capture(std::string_view line, void* context) {
  static_cast<std::vector<std::string>*>(context)->emplace_back(line);
}

bool fake_trace_ids(TraceIds& out) {
  if (!g_in_span) return false;
  std::strcpy(out.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  std::strcpy(out.span_id, "00f067aa0ba902b7");
  return true;
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_lines = &lines_;
    set_sink_for_testing(&capture, &lines_);
    set_trace_ids_provider(&fake_trace_ids);
  }
  void TearDown() override {
    set_sink_for_testing(nullptr, nullptr);
    set_trace_ids_provider(nullptr);
    configure({});
    g_in_span = false;
  }
  std::vector<std::string> lines_;
};

TEST_F(LogTest, TextLineCarriesTraceAndSpanIdsInsideASpan) {
  configure({.level = Level::kInfo, .format = Format::kText});
  g_in_span = true;
  info("hold {} created", 42);
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find(" INFO  trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7 "
                           "hold 42 created"),
            std::string::npos)
      << lines_[0];
}

TEST_F(LogTest, TextLineOutsideASpanHasNoIds) {
  configure({.level = Level::kInfo, .format = Format::kText});
  info("started");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0].find("trace="), std::string::npos);
}

TEST_F(LogTest, JsonLineHasFieldsAndEscapes) {
  configure({.level = Level::kDebug, .format = Format::kJson});
  g_in_span = true;
  write(Level::kWarn, "say \"hi\"\n", {{"order_id", "o-1"}});
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& line = lines_[0];
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
  EXPECT_NE(line.find("\"level\":\"warn\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"msg\":\"say \\\"hi\\\"\\n\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\""), std::string::npos);
  EXPECT_NE(line.find("\"span_id\":\"00f067aa0ba902b7\""), std::string::npos);
  EXPECT_NE(line.find("\"order_id\":\"o-1\""), std::string::npos);
}

TEST_F(LogTest, DisabledLevelsAreNotWritten) {
  configure({.level = Level::kWarn, .format = Format::kText});
  info("quiet");
  debug("quieter");
  error("loud");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("ERROR loud"), std::string::npos);
}

TEST(LogNames, ParseLevelsAndFormats) {
  Level level{};
  EXPECT_TRUE(parse_level("debug", level));
  EXPECT_EQ(level, Level::kDebug);
  EXPECT_FALSE(parse_level("verbose", level));
  Format format{};
  EXPECT_TRUE(parse_format("json", format));
  EXPECT_EQ(format, Format::kJson);
  EXPECT_FALSE(parse_format("xml", format));
}

}  // namespace
}  // namespace seatflow::log
