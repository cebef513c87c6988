// What both HTTP clients promise their callers, checked against each: one
// deadline over the whole request, and the same errors for the same
// failures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/blocking_client.hpp"
#include "http/client.hpp"
#include "http/test_server.hpp"

namespace seatflow::http {
namespace {

using ::testing::HasSubstr;
using testing::TestServer;
using namespace std::chrono_literals;

template <typename Client>
class ClientContract : public ::testing::Test {};

using Clients = ::testing::Types<HttpClient, BlockingClient>;
TYPED_TEST_SUITE(ClientContract, Clients);

TYPED_TEST(ClientContract, PostsBodies) {
  TestServer s;
  TypeParam client;
  ClientRequest request{.method = Method::kPost, .url = s.url("/json"), .body = R"({"x":[1,2]})"};
  request.headers.add("Content-Type", "application/json");
  auto r = client.send(std::move(request));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"x":[1,2]})");
}

TYPED_TEST(ClientContract, DeadlineCoversTheWholeRequest) {
  TestServer s;
  TypeParam client;
  const auto started = std::chrono::steady_clock::now();
  auto r = client.send({.url = s.url("/slow/2000"), .deadline = 150ms});
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_LT(took, 1500ms);
}

TYPED_TEST(ClientContract, ConnectionRefusedIsUnavailable) {
  uint16_t closed_port = 0;
  {
    TestServer s;
    closed_port = s.port();
  }
  TypeParam client({.max_attempts = 2, .backoff_initial = 1ms});
  auto r = client.send({.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/hello"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message(), HasSubstr("cannot connect"));
}

TYPED_TEST(ClientContract, BadUrlIsInvalidArgument) {
  TypeParam client;
  for (const char* url : {"ftp://x/y", "http://", "not a url"}) {
    auto r = client.send({.url = url});
    ASSERT_FALSE(r) << url;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << url;
  }
}

}  // namespace
}  // namespace seatflow::http
