// Server-Sent Events: framing, replay with Last-Event-ID, snapshot-needed,
// heartbeats and slow-consumer disconnects, over real sockets.
#include "http/sse.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/responder.hpp"
#include "http/test_client.hpp"
#include "http/test_server.hpp"

namespace seatflow::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::RawConnection;
using testing::TestServer;
using namespace std::chrono_literals;

std::string open_stream(const std::string& topic, uint64_t last_event_id = 0) {
  std::string request =
      "GET /events/" + topic + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n";
  if (last_event_id > 0) request += "Last-Event-ID: " + std::to_string(last_event_id) + "\r\n";
  return request + "\r\n";
}

TEST(SseFormat, MultiLineDataBecomesSeveralDataLines) {
  EXPECT_EQ(SseHub::format(7, "seat", "a\nb"), "id: 7\nevent: seat\ndata: a\ndata: b\n\n");
  EXPECT_EQ(SseHub::format(1, "", "x"), "id: 1\ndata: x\n\n");
}

TEST(SseHub, ReplaysAfterLastEventIdAndAsksForASnapshotWhenTooOld) {
  metrics::Registry registry;
  SseHub hub({.replay_capacity = 3}, registry);
  for (int i = 1; i <= 5; ++i) hub.publish("t", "e", std::to_string(i));  // ring keeps 3..5

  std::vector<SseFrame> frames;
  auto resume = hub.subscribe("t", 3, [] {});
  ASSERT_TRUE(resume->take(frames));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(*frames[0], "id: 4\nevent: e\ndata: 4\n\n");
  EXPECT_EQ(*frames[1], "id: 5\nevent: e\ndata: 5\n\n");

  frames.clear();
  auto too_old = hub.subscribe("t", 1, [] {});
  ASSERT_TRUE(too_old->take(frames));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_THAT(*frames[0], HasSubstr("event: snapshot-needed"));
  EXPECT_THAT(*frames[0], HasSubstr("too old"));

  frames.clear();
  auto from_the_future = hub.subscribe("t", 99, [] {});
  ASSERT_TRUE(from_the_future->take(frames));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_THAT(*frames[0], HasSubstr("unknown Last-Event-ID"));

  frames.clear();
  auto fresh = hub.subscribe("t", 0, [] {});
  ASSERT_TRUE(fresh->take(frames));
  EXPECT_TRUE(frames.empty()) << "a new subscriber gets only new events";
  EXPECT_EQ(hub.subscriber_count(), 4u);
  hub.unsubscribe(resume);
  hub.unsubscribe(too_old);
  EXPECT_EQ(hub.subscriber_count(), 2u);
}

TEST(SseHub, PositionHandsASnapshotReaderEveryLaterEvent) {
  metrics::Registry registry;
  SseHub hub({}, registry);
  const uint64_t start = hub.position("fresh");
  EXPECT_EQ(start, 1u) << "never 0, which would mean \"from now\"";
  hub.publish("fresh", "e", "a");  // published between the snapshot and the subscription
  std::vector<SseFrame> frames;
  auto sub = hub.subscribe("fresh", start, [] {});
  ASSERT_TRUE(sub->take(frames));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(*frames[0], "id: 2\nevent: e\ndata: a\n\n");
  EXPECT_EQ(hub.position("fresh"), 2u);
  hub.unsubscribe(sub);
}

TEST(SseResume, HeaderThenQueryParameterThenFromNow) {
  Request r;
  EXPECT_EQ(last_event_id(r), 0u);
  r.query = "last_event_id=41";
  EXPECT_EQ(last_event_id(r), 41u);
  r.headers.set("Last-Event-ID", "57");
  EXPECT_EQ(last_event_id(r), 57u) << "a reconnecting EventSource says where it got to";
  r.headers.set("Last-Event-ID", "x7");
  EXPECT_EQ(last_event_id(r), 41u);
  r.query = "last_event_id=-1";
  EXPECT_EQ(last_event_id(r), 0u);
}

TEST(SseHub, OverflowMarksTheSubscriber) {
  metrics::Registry registry;
  SseHub hub({.max_queued_bytes = 100}, registry);
  int wakes = 0;
  auto sub = hub.subscribe("t", 0, [&] { ++wakes; });
  hub.publish("t", "e", std::string(60, 'x'));
  hub.publish("t", "e", std::string(60, 'x'));
  std::vector<SseFrame> frames;
  EXPECT_FALSE(sub->take(frames));
  EXPECT_EQ(wakes, 2);  // once for data, once for the overflow
}

TEST(SseStream, DeliversPublishedEventsWithIds) {
  TestServer s;
  RawConnection client(s.port());
  ASSERT_TRUE(client.send(open_stream("event-1")));
  EXPECT_THAT(client.read_until("\r\n\r\n", 2s), HasSubstr("Content-Type: text/event-stream"));
  ASSERT_TRUE(TestServer::eventually([&] { return s.hub.subscriber_count() == 1; }));
  s.hub.publish("event-1", "seat", R"({"seat":"A-1","state":"HELD"})");
  s.hub.publish("other", "seat", "not for this client");
  s.hub.publish("event-1", "seat", R"({"seat":"A-2","state":"SOLD"})");
  const std::string got = client.read_until("id: 2", 2s);
  EXPECT_THAT(got,
              HasSubstr("id: 1\nevent: seat\ndata: {\"seat\":\"A-1\",\"state\":\"HELD\"}\n\n"));
  EXPECT_THAT(got,
              HasSubstr("id: 2\nevent: seat\ndata: {\"seat\":\"A-2\",\"state\":\"SOLD\"}\n\n"));
  EXPECT_THAT(got, Not(HasSubstr("not for this client")));
}

TEST(SseStream, ResumesFromLastEventId) {
  TestServer s;
  for (int i = 1; i <= 5; ++i) s.hub.publish("e", "seat", "n" + std::to_string(i));
  RawConnection client(s.port());
  ASSERT_TRUE(client.send(open_stream("e", 3)));
  const std::string got = client.read_until("data: n5", 2s);
  EXPECT_THAT(got, HasSubstr("id: 4\nevent: seat\ndata: n4"));
  EXPECT_THAT(got, HasSubstr("id: 5\nevent: seat\ndata: n5"));
  EXPECT_THAT(got, Not(HasSubstr("data: n3")));
}

TEST(SseStream, SendsHeartbeats) {
  TestServer s({}, {.heartbeat = 100ms});
  RawConnection client(s.port());
  ASSERT_TRUE(client.send(open_stream("quiet")));
  EXPECT_THAT(client.read_until(": heartbeat", 2s), HasSubstr(": heartbeat\n\n"));
}

TEST(SseStream, SlowConsumerIsDisconnectedAndCounted) {
  TestServer s({.write_timeout = 30'000ms}, {.max_queued_bytes = size_t{64} * 1024});
  RawConnection slow(s.port(), /*receive_buffer_bytes=*/4096);
  ASSERT_TRUE(slow.send(open_stream("busy")));
  ASSERT_TRUE(TestServer::eventually([&] { return s.hub.subscriber_count() == 1; }));
  // The client never reads: once the socket buffers fill, the queue grows
  // past its limit and the server lets the client go.
  const std::string big(size_t{16} * 1024, 'x');
  for (int i = 0; i < 2000 && s.hub.subscriber_count() > 0; ++i) {
    s.hub.publish("busy", "seat", big);
    if (i % 50 == 0) std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(TestServer::eventually([&] { return s.hub.subscriber_count() == 0; }));
  auto metrics = testing::get(s.port(), "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, HasSubstr("seatflow_sse_slow_disconnects_total 1"));
  EXPECT_TRUE(TestServer::eventually([&] { return s.server->connection_count() == 0; }));
}

TEST(SseStream, ShutdownEndsStreams) {
  TestServer s;
  RawConnection client(s.port());
  ASSERT_TRUE(client.send(open_stream("t")));
  ASSERT_TRUE(TestServer::eventually([&] { return s.hub.subscriber_count() == 1; }));
  s.server->stop();
  EXPECT_TRUE(client.wait_closed(2s));
  EXPECT_EQ(s.hub.subscriber_count(), 0u);
}

}  // namespace
}  // namespace seatflow::http
