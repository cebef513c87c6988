// The blocking client against a real server: a kept connection, bodies
// larger than a socket's buffers both ways, a connection left by a missed
// deadline or closed by the server. What it shares with HttpClient
// (deadlines, errors) is in client_contract_test.cpp.
#include "http/blocking_client.hpp"

#include <gtest/gtest.h>

#include "http/test_server.hpp"

namespace seatflow::http {
namespace {

using testing::TestServer;
using namespace std::chrono_literals;

TEST(BlockingClient, KeepsOneConnectionForItsRequests) {
  TestServer s;
  BlockingClient client;
  EXPECT_FALSE(client.connected());
  auto hello = client.send({.url = s.url("/hello")});
  ASSERT_TRUE(hello) << hello.error().to_string();
  EXPECT_EQ(hello->body, "hello");
  auto item = client.send({.url = s.url("/items/7")});
  ASSERT_TRUE(item) << item.error().to_string();
  EXPECT_EQ(item->status, 200);
  EXPECT_EQ(item->body, "7");
  EXPECT_EQ(item->attempts, 1);
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(s.server->connection_count(), 1u) << "one keep-alive connection served both";
}

TEST(BlockingClient, PostsAndReadsBodiesLargerThanTheSocketBuffers) {
  TestServer s;
  BlockingClient client;
  // The server echoes the JSON back: about 900 kB each way, written and
  // read a part at a time as the socket lets it.
  const std::string text(900'000, 'x');
  ClientRequest request{
      .method = Method::kPost, .url = s.url("/json"), .body = R"({"x":")" + text + R"("})"};
  request.headers.add("Content-Type", "application/json");
  for (int i = 0; i < 2; ++i) {
    auto r = client.send(request);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, request.body);
  }
}

TEST(BlockingClient, AnErrorStatusIsAResponseAndIsNotRetried) {
  TestServer s;
  BlockingClient client;
  auto r = client.send({.method = Method::kGet, .url = s.url("/flaky/1")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(s.flaky_calls.load(), 1);
}

TEST(BlockingClient, ARequestCutByItsDeadlineLeavesNoConnectionBehind) {
  TestServer s;
  BlockingClient client;
  ASSERT_FALSE(client.send({.url = s.url("/slow/2000"), .deadline = 100ms}));
  EXPECT_FALSE(client.connected()) << "its answer could still arrive on it";
  auto next = client.send({.url = s.url("/hello")});
  ASSERT_TRUE(next) << next.error().to_string();
  EXPECT_EQ(next->body, "hello");
}

TEST(BlockingClient, ReplacesAKeptConnectionTheServerClosed) {
  TestServer s({.idle_timeout = 100ms});
  BlockingClient client;
  ASSERT_TRUE(client.send({.url = s.url("/items/1")}));
  ASSERT_TRUE(TestServer::eventually([&] { return s.server->connection_count() == 0; }))
      << "the server closes the idle connection";
  auto r = client.send({.url = s.url("/items/2")});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->body, "2");
}

TEST(BlockingClient, ResponseOverTheLimitIsResourceExhausted) {
  TestServer s;
  BlockingClient client({.max_response_bytes = 10});
  auto r = client.send({.url = s.url("/items/" + std::string(40, '7'))});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
}

}  // namespace
}  // namespace seatflow::http
