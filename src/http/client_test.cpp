// The HTTP client against a real server: keep-alive pooling, retries only
// where they are safe, header injection; and the same against the server's
// entry handler served in process. What it shares with the blocking client
// (deadlines, errors) is in client_contract_test.cpp.
#include "http/client.hpp"

#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/test_server.hpp"

namespace seatflow::http {
namespace {

using ::testing::HasSubstr;
using testing::TestServer;
using namespace std::chrono_literals;

TEST(HttpClient, GetsAndReusesItsConnection) {
  TestServer s;
  HttpClient client;
  for (int i = 0; i < 3; ++i) {
    auto r = client.send({.url = s.url("/items/" + std::to_string(i))});
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, std::to_string(i));
    EXPECT_EQ(r->attempts, 1);
  }
  EXPECT_EQ(client.idle_connections(), 1u);
  EXPECT_EQ(s.server->connection_count(), 1u) << "one keep-alive connection served all three";
}

TEST(HttpClient, RetriesIdempotentRequestsOnUnavailable) {
  TestServer s;
  HttpClient client({.max_attempts = 3, .backoff_initial = 5ms});
  auto r = client.send({.url = s.url("/flaky/2")});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "recovered");
  EXPECT_EQ(r->attempts, 3);
}

TEST(HttpClient, GivesUpAfterMaxAttempts) {
  TestServer s;
  HttpClient client({.max_attempts = 2, .backoff_initial = 5ms});
  auto r = client.send({.url = s.url("/flaky/5")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, 2);
}

TEST(HttpClient, DoesNotRetryNonIdempotentRequests) {
  TestServer s;
  HttpClient client({.max_attempts = 3, .backoff_initial = 5ms});
  auto r = client.send({.method = Method::kPost, .url = s.url("/flaky/1")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(s.flaky_calls.load(), 1);
}

TEST(HttpClient, RetriesPostsThatCarryAnIdempotencyKey) {
  TestServer s;
  HttpClient client({.max_attempts = 3, .backoff_initial = 5ms});
  ClientRequest request{.method = Method::kPost, .url = s.url("/flaky/1")};
  request.headers.add("Idempotency-Key", "k-1");
  auto r = client.send(std::move(request));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts, 2);
}

TEST(HttpClient, HeaderHookInjectsHeaders) {
  TestServer s;
  HttpClient client;
  client.set_header_hook([](ClientRequest& r) {
    r.headers.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  });
  auto r = client.send({.url = s.url("/header/traceparent")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

TEST(HttpClient, ManyConcurrentRequests) {
  TestServer s;
  HttpClient client;
  std::atomic<int> ok_count{0};
  std::atomic<int> done{0};
  for (int i = 0; i < 200; ++i) {
    client.async_send({.url = s.url("/items/" + std::to_string(i))},
                      [&, i](Result<ClientResponse> r) {
                        if (r && r->body == std::to_string(i)) ++ok_count;
                        ++done;
                      });
  }
  ASSERT_TRUE(TestServer::eventually([&] { return done.load() == 200; }));
  EXPECT_EQ(ok_count.load(), 200);
}

// A peer served in process, at an authority nothing listens on: a call that
// went over TCP would fail to resolve.
constexpr std::string_view kLocalPeer = "http://in-process.invalid:8080";

std::string local_url(std::string_view path) { return std::string(kLocalPeer).append(path); }

TEST(HttpClientLocal, CallsTheEntryHandlerWithoutASocket) {
  TestServer s;
  HttpClient client;
  client.serve_locally("in-process.invalid:8080", s.entry);
  auto r = client.send({.url = local_url("/items/7")});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "7");
  EXPECT_EQ(r->attempts, 1);

  ClientRequest post{.method = Method::kPost, .url = local_url("/json"), .body = R"({"x":[1,2]})"};
  post.headers.add("Content-Type", "application/json");
  r = client.send(std::move(post));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, R"({"x":[1,2]})");

  r = client.send({.url = local_url("/header/Host")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "in-process.invalid:8080");
  r = client.send({.url = local_url("/no/such/route")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(s.server->connection_count(), 0u);
  EXPECT_THAT(s.registry.serialize(), HasSubstr("route=\"/items/{id}\""))
      << "the server's middleware counted the call";
}

TEST(HttpClientLocal, AnAnswerAtOnceCompletesBeforeAsyncSendReturns) {
  TestServer s;
  HttpClient client;
  client.serve_locally("in-process.invalid:8080", s.entry);
  std::optional<Result<ClientResponse>> got;
  client.async_send({.url = local_url("/hello")},
                    [&](Result<ClientResponse> r) { got = std::move(r); });
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(*got);
  EXPECT_EQ((*got)->body, "hello");
}

TEST(HttpClientLocal, TheDeadlineCutsAHandlerThatAnswersLater) {
  TestServer s;
  HttpClient client;
  client.serve_locally("in-process.invalid:8080", s.entry);
  const auto started = std::chrono::steady_clock::now();
  auto r = client.send({.url = local_url("/slow/1000"), .deadline = 100ms});
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_LT(took, 900ms);
  // The handler's answer arrives later, after the client is gone, and goes nowhere.
}

TEST(HttpClientLocal, AnswerLaterWithinTheDeadline) {
  TestServer s;
  HttpClient client;
  client.serve_locally("in-process.invalid:8080", s.entry);
  auto r = client.send({.url = local_url("/slow/20"), .deadline = 5000ms});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->body, "slow");
}

TEST(HttpClientLocal, RetriesOnlyWhereItIsSafe) {
  TestServer s;
  HttpClient client({.max_attempts = 3, .backoff_initial = 5ms});
  client.serve_locally("in-process.invalid:8080", s.entry);
  auto r = client.send({.url = local_url("/flaky/2")});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->body, "recovered");
  EXPECT_EQ(r->attempts, 3);

  s.flaky_calls = 0;
  r = client.send({.method = Method::kPost, .url = local_url("/flaky/1")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, 1);
}

TEST(HttpClientLocal, AStreamOrAThrowingHandlerIsAnAnswerNotAHang) {
  TestServer s;
  HttpClient client;
  client.serve_locally("in-process.invalid:8080", s.entry);
  auto r = client.send({.url = local_url("/events/seats")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnimplemented);
  r = client.send({.url = local_url("/throw")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST(HttpClientLocal, OtherAuthoritiesStillGoOverTcp) {
  TestServer s;
  HttpClient client;
  client.serve_locally("in-process.invalid:8080", s.entry);
  auto r = client.send({.url = s.url("/items/3")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "3");
  EXPECT_EQ(client.idle_connections(), 1u);
}

}  // namespace
}  // namespace seatflow::http
