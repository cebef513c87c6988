// The blocking client against a real server: a kept connection, bodies
// larger than a socket's buffers both ways, a connection left by a missed
// deadline or closed by the server; and against a scripted peer: a reply
// that is not HTTP, an answer cut short, a chunked one. What it shares with
// HttpClient (deadlines, errors) is in client_contract_test.cpp.
#include "http/blocking_client.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "http/test_server.hpp"

namespace seatflow::http {
namespace {

using testing::TestServer;
using namespace std::chrono_literals;

// A peer that is not a proper HTTP server: it accepts one connection on a
// loopback port, reads the request's head, writes `reply` as it is and
// closes the connection.
class ScriptedPeer {
 public:
  explicit ScriptedPeer(std::string reply) : reply_(std::move(reply)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(listener_, 1) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedPeer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  ScriptedPeer(const ScriptedPeer&) = delete;
  ScriptedPeer& operator=(const ScriptedPeer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces"; }

 private:
  void serve() {
    const int connection = ::accept(listener_, nullptr, nullptr);
    if (connection < 0) return;
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(connection, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      request.append(buffer, static_cast<size_t>(n));
    }
    ::send(connection, reply_.data(), reply_.size(), MSG_NOSIGNAL);
    ::close(connection);
  }

  std::string reply_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

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

TEST(BlockingClient, StartWritesAndFinishReadsTheAnswerLater) {
  TestServer s;
  BlockingClient client;
  EXPECT_EQ(client.finish().error().code(), ErrorCode::kFailedPrecondition)
      << "nothing was started";
  const ClientRequest first{.url = s.url("/items/1")};
  ASSERT_TRUE(client.start(first));
  EXPECT_TRUE(client.waiting());
  auto answer = client.finish();
  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_EQ(answer->body, "1");
  EXPECT_FALSE(client.waiting());
  // The next request goes over the same connection.
  const ClientRequest second{.url = s.url("/items/2")};
  ASSERT_TRUE(client.start(second));
  auto again = client.finish();
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->body, "2");
  EXPECT_EQ(s.server->connection_count(), 1u);
}

TEST(BlockingClient, AnAnswerThatArrivedInTimeIsReadAfterTheDeadline) {
  TestServer s;
  BlockingClient client;
  const ClientRequest request{.url = s.url("/hello"), .deadline = 100ms};
  ASSERT_TRUE(client.start(request));
  std::this_thread::sleep_for(300ms);  // the answer came long ago; the deadline has passed
  auto answer = client.finish();
  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_EQ(answer->body, "hello");
}

TEST(BlockingClient, AnAnswerThatNeverCameIsTooLateAndLeavesNoConnection) {
  TestServer s;
  BlockingClient client;
  const ClientRequest request{.url = s.url("/slow/2000"), .deadline = 100ms};
  ASSERT_TRUE(client.start(request));
  std::this_thread::sleep_for(200ms);
  auto answer = client.finish();
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_FALSE(client.connected());
}

TEST(BlockingClient, StartingAgainAbandonsAnUnreadAnswer) {
  TestServer s;
  BlockingClient client;
  const ClientRequest first{.url = s.url("/items/1")};
  const ClientRequest second{.url = s.url("/items/2")};
  ASSERT_TRUE(client.start(first));
  ASSERT_TRUE(client.start(second));
  auto answer = client.finish();
  ASSERT_TRUE(answer) << answer.error().to_string();
  EXPECT_EQ(answer->body, "2") << "not the first request's answer";
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

TEST(BlockingClient, AReplyThatIsNotHttpOrIsCutShortIsUnavailable) {
  for (const char* reply : {"SSH-2.0-OpenSSH_9.2\r\n\r\n",
                            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b"}) {
    ScriptedPeer peer(reply);
    BlockingClient client;
    auto r = client.send({.method = Method::kPost, .url = peer.url(), .body = "spans"});
    ASSERT_FALSE(r) << reply;
    EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable) << r.error().to_string();
    EXPECT_FALSE(client.connected()) << reply;
  }
}

TEST(BlockingClient, ReadsAChunkedAnswerAndClosesWhenTheServerSaysSo) {
  ScriptedPeer peer(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  BlockingClient client;
  auto r = client.send({.method = Method::kPost, .url = peer.url(), .body = "spans"});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
  EXPECT_FALSE(client.connected()) << "Connection: close";
}

}  // namespace
}  // namespace seatflow::http
