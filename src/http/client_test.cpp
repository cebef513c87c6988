// The HTTP client against a real server: keep-alive pooling, deadlines,
// retries only where they are safe, header injection.
#include "http/client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/test_server.hpp"

namespace seatflow::http {
namespace {

using ::testing::HasSubstr;
using testing::TestServer;
using namespace std::chrono_literals;

std::string url(const TestServer& s, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + std::string(path);
}

TEST(HttpClient, GetsAndReusesItsConnection) {
  TestServer s;
  HttpClient client;
  for (int i = 0; i < 3; ++i) {
    auto r = client.send({.url = url(s, "/items/" + std::to_string(i))});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, std::to_string(i));
    EXPECT_EQ(r->attempts, 1);
  }
  EXPECT_EQ(client.idle_connections(), 1u);
  EXPECT_EQ(s.server->connection_count(), 1u) << "one keep-alive connection served all three";
}

TEST(HttpClient, PostsBodies) {
  TestServer s;
  HttpClient client;
  ClientRequest request{.method = Method::kPost, .url = url(s, "/json"), .body = R"({"x":[1,2]})"};
  request.headers.add("Content-Type", "application/json");
  auto r = client.send(std::move(request));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"x":[1,2]})");
}

TEST(HttpClient, DeadlineCoversTheWholeRequest) {
  TestServer s;
  HttpClient client;
  const auto started = std::chrono::steady_clock::now();
  auto r = client.send({.url = url(s, "/slow/2000"), .deadline = 150ms});
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_LT(took, 1500ms);
}

TEST(HttpClient, RetriesIdempotentRequestsOnUnavailable) {
  TestServer s;
  HttpClient client({.max_attempts = 3, .backoff_initial = 5ms});
  auto r = client.send({.url = url(s, "/flaky/2")});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "recovered");
  EXPECT_EQ(r->attempts, 3);
}

TEST(HttpClient, GivesUpAfterMaxAttempts) {
  TestServer s;
  HttpClient client({.max_attempts = 2, .backoff_initial = 5ms});
  auto r = client.send({.url = url(s, "/flaky/5")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, 2);
}

TEST(HttpClient, DoesNotRetryNonIdempotentRequests) {
  TestServer s;
  HttpClient client({.max_attempts = 3, .backoff_initial = 5ms});
  auto r = client.send({.method = Method::kPost, .url = url(s, "/flaky/1")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(s.flaky_calls.load(), 1);
}

TEST(HttpClient, RetriesPostsThatCarryAnIdempotencyKey) {
  TestServer s;
  HttpClient client({.max_attempts = 3, .backoff_initial = 5ms});
  ClientRequest request{.method = Method::kPost, .url = url(s, "/flaky/1")};
  request.headers.add("Idempotency-Key", "k-1");
  auto r = client.send(std::move(request));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts, 2);
}

TEST(HttpClient, ConnectionRefusedIsUnavailable) {
  uint16_t closed_port = 0;
  {
    TestServer s;
    closed_port = s.port();
  }
  HttpClient client({.max_attempts = 2, .backoff_initial = 1ms});
  auto r = client.send({.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/hello"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message(), HasSubstr("cannot connect"));
}

TEST(HttpClient, BadUrlIsInvalidArgument) {
  HttpClient client;
  auto r = client.send({.url = "ftp://x/y"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

TEST(HttpClient, HeaderHookInjectsHeaders) {
  TestServer s;
  HttpClient client;
  client.set_header_hook([](ClientRequest& r) {
    r.headers.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  });
  auto r = client.send({.url = url(s, "/header/traceparent")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

TEST(HttpClient, ManyConcurrentRequests) {
  TestServer s;
  HttpClient client;
  std::atomic<int> ok_count{0};
  std::atomic<int> done{0};
  for (int i = 0; i < 200; ++i) {
    client.async_send({.url = url(s, "/items/" + std::to_string(i))},
                      [&, i](Result<ClientResponse> r) {
                        if (r && r->body == std::to_string(i)) ++ok_count;
                        ++done;
                      });
  }
  ASSERT_TRUE(TestServer::eventually([&] { return done.load() == 200; }));
  EXPECT_EQ(ok_count.load(), 200);
}

}  // namespace
}  // namespace seatflow::http
