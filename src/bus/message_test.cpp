#include "bus/message.hpp"

#include <gtest/gtest.h>

#include "bus/bus.hpp"
#include "bus/consumer_support.hpp"

namespace seatflow::bus {
namespace {

TEST(ConsumerThreadName, TellsALiveFeedFromTheServicesOwnConsumer) {
  EXPECT_EQ(consumer_thread_name("bus", "reservation"), "bus:reservation");
  EXPECT_EQ(consumer_thread_name("bus", "reservation.live.4f2a"), "bus:live:reservation");
  EXPECT_EQ(consumer_thread_name("kafka", "order.live.9c1d"), "kafka:live:order");
}

TEST(Murmur2, MatchesTheJavaClient) {
  // Values from Kafka's own partitioner tests (Utils.murmur2).
  EXPECT_EQ(static_cast<int32_t>(murmur2("21")), -973932308);
  EXPECT_EQ(static_cast<int32_t>(murmur2("foobar")), -790332482);
  EXPECT_EQ(static_cast<int32_t>(murmur2("a-little-bit-long-string")), -985981536);
  EXPECT_EQ(static_cast<int32_t>(murmur2("a-little-bit-longer-string")), -1486304829);
  EXPECT_EQ(static_cast<int32_t>(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")),
            -58897971);
  EXPECT_EQ(static_cast<int32_t>(murmur2("abc")), 479470107);
}

TEST(PartitionFor, IsStableAndInRange) {
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "order-" + std::to_string(i);
    const int32_t p = partition_for(key, 12);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, 12);
    EXPECT_EQ(p, partition_for(key, 12));
  }
  EXPECT_EQ(partition_for("anything", 1), 0);
}

TEST(Headers, RoundTripThroughText) {
  const Headers headers = {
      {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
      {"message-id", "a&b=c%d"},
      {"weird name", "line\nbreak\ttab \xc3\xa9"},
      {"empty", ""}};
  const std::string text = encode_headers(headers);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  auto back = decode_headers(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, headers);
  EXPECT_EQ(decode_headers(""), Headers{});
  // The stored form, which messages already in a log are written in.
  EXPECT_EQ(encode_headers({{"a b", "x%&=y\xc3\xa9"}, {"k", "v"}}), "a%20b=x%25%26%3Dy%C3%A9&k=v");
  EXPECT_EQ(decode_headers("a%20b=x%25%26%3Dy%c3%A9&k=v"),
            (Headers{{"a b", "x%&=y\xc3\xa9"}, {"k", "v"}}));
}

TEST(Headers, RejectsMalformedText) {
  EXPECT_FALSE(decode_headers("novalue"));
  EXPECT_FALSE(decode_headers("a=%zz"));
  EXPECT_FALSE(decode_headers("a=%4"));
}

TEST(Headers, FindAndSetIgnoreCase) {
  Headers h = {{"Message-Id", "1"}, {"message-id", "2"}};
  EXPECT_EQ(find_header(h, "MESSAGE-ID"), "1");
  set_header(h, "message-id", "3");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(find_header(h, "message-id"), "3");
  EXPECT_FALSE(find_header(h, "other"));
}

TEST(Message, IdFallsBackToThePosition) {
  Message m{.topic = "t", .partition = 2, .offset = 7};
  EXPECT_EQ(m.id(), "t/2/7");
  m.headers = {{"message-id", "abc"}, {"message-type", "order.confirmed"}};
  EXPECT_EQ(m.id(), "abc");
  EXPECT_EQ(m.type(), "order.confirmed");
}

TEST(TopicName, FollowsKafkaRules) {
  EXPECT_TRUE(valid_topic_name("order.events"));
  EXPECT_TRUE(valid_topic_name("a-b_c.1"));
  EXPECT_FALSE(valid_topic_name(""));
  EXPECT_FALSE(valid_topic_name(".."));
  EXPECT_FALSE(valid_topic_name("with space"));
  EXPECT_FALSE(valid_topic_name(std::string(250, 'a')));
}

}  // namespace
}  // namespace seatflow::bus
