// The server over real sockets: routing, keep-alive, limits, errors,
// asynchronous handlers, metrics and health, graceful shutdown.
#include "http/server.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <future>
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/test_client.hpp"
#include "http/test_server.hpp"

namespace seatflow::http {
namespace {

using ::testing::HasSubstr;
using testing::RawConnection;
using testing::TestServer;
using namespace std::chrono_literals;

TEST(HttpServer, RoutesAndAnswersProblemJson) {
  TestServer s;
  auto hello = testing::get(s.port(), "/hello");
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->status, 200);
  EXPECT_EQ(hello->body, "hello");

  auto item = testing::get(s.port(), "/items/42");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->body, "42");

  auto missing = testing::get(s.port(), "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->header("Content-Type"), "application/problem+json");
  EXPECT_THAT(missing->body, HasSubstr(R"("detail":"no route for /nope")"));
}

// RFC 9110: an origin server with a clock sends Date on every response; a
// browser reads the server's time from it (the hold's countdown does).
TEST(HttpServer, EveryResponseCarriesTheDate) {
  TestServer s;
  const auto before = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto hello = testing::get(s.port(), "/hello");
  auto missing = testing::get(s.port(), "/nope");
  const auto after = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  ASSERT_TRUE(hello && missing);
  for (const auto* r : {&*hello, &*missing}) {
    const auto date = r->header("Date").value_or("");
    EXPECT_TRUE(date == format_http_date(before) || date == format_http_date(after)) << date;
  }
}

TEST(HttpServer, KeepsConnectionsAlive) {
  TestServer s;
  RawConnection c(s.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET /items/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->body, std::to_string(i));
    EXPECT_TRUE(r->keep_alive);
  }
  EXPECT_EQ(s.server->connection_count(), 1u);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  TestServer s;
  RawConnection c(s.port());
  ASSERT_TRUE(
      c.send("GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /items/2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = c.read_response();
  auto second = c.read_response();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "1");
  EXPECT_EQ(second->body, "2");
}

TEST(HttpServer, Http10ClosesUnlessAskedToKeepAlive) {
  TestServer s;
  RawConnection c(s.port());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(c.wait_closed(2s));
}

TEST(HttpServer, HeadHasHeadersButNoBody) {
  TestServer s;
  RawConnection c(s.port());
  ASSERT_TRUE(
      c.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string all = c.read_until("hello", 2s);
  EXPECT_THAT(all, HasSubstr("Content-Length: 5\r\n"));
  // Exactly one body: the GET's.
  EXPECT_EQ(all.find("hello"), all.rfind("hello"));
}

TEST(HttpServer, HeaderLimitIs431) {
  TestServer s({.max_header_bytes = 1024});
  RawConnection c(s.port());
  ASSERT_TRUE(
      c.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_THAT(r->body, HasSubstr("exceeds 1024 bytes"));
}

TEST(HttpServer, BodyLimitIs413) {
  TestServer s({.max_body_bytes = 100});
  RawConnection c(s.port());
  ASSERT_TRUE(
      c.send("POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: 500\r\n\r\n" +
             std::string(500, ' ')));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, HasSubstr("exceeds 100 bytes"));
}

TEST(HttpServer, SlowRequestGets408) {
  TestServer s({.read_timeout = 200ms});
  RawConnection c(s.port());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // never finishes the head
  auto r = c.read_response(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c.wait_closed(2s));
}

TEST(HttpServer, IdleConnectionIsClosed) {
  TestServer s({.idle_timeout = 200ms});
  RawConnection c(s.port());
  EXPECT_TRUE(c.wait_closed(3s));
  EXPECT_TRUE(TestServer::eventually([&] { return s.server->connection_count() == 0; }));
}

TEST(HttpServer, ConnectionsBeyondTheMaximumGet503) {
  TestServer s({.max_connections = 2});
  RawConnection a(s.port());
  RawConnection b(s.port());
  ASSERT_TRUE(TestServer::eventually([&] { return s.server->connection_count() == 2; }));
  RawConnection c(s.port());
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("Retry-After"), "1");
  // The first two are still served.
  ASSERT_TRUE(a.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto ok = a.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// Out of file descriptors, a connection waits in the listen queue until one
// is free; accepting it fails at once each time until then (EMFILE), so the
// server pauses between tries instead of spinning and logging each failure.
TEST(HttpServer, OutOfFileDescriptorsAcceptingPausesInsteadOfSpinning) {
  TestServer s;
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct Restore {
    const rlimit& limit;
    ~Restore() { ::setrlimit(RLIMIT_NOFILE, &limit); }
  } restore{saved};
  // The client takes the one descriptor left, and the server has none to
  // accept it with. Another thread of this process that holds a descriptor
  // for a moment (the server's, starting up) can take it first: then the
  // client has none either, and it tries again.
  std::optional<RawConnection> connection;
  for (int attempt = 0; attempt < 20 && !(connection && connection->connected()); ++attempt) {
    connection.reset();
    if (attempt > 0) std::this_thread::sleep_for(50ms);
    const int lowest_free = ::open("/dev/null", O_RDONLY);
    ASSERT_GE(lowest_free, 0);
    ::close(lowest_free);
    rlimit one_left = saved;  // descriptors are numbered from the lowest free one
    one_left.rlim_cur = static_cast<rlim_t>(lowest_free) + 1;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &one_left), 0);
    connection.emplace(s.port());
    if (!connection->connected()) {
      ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
    }
  }
  ASSERT_TRUE(connection && connection->connected());
  RawConnection& c = *connection;
  std::this_thread::sleep_for(1500ms);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);

  // With descriptors free again it is accepted at the next try and served.
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto m = testing::get(s.port(), "/metrics");
  ASSERT_TRUE(m);
  const std::string name = "\nseatflow_http_accept_failures_total ";
  const size_t at = m->body.find(name);
  ASSERT_NE(at, std::string::npos) << m->body;
  const double failures = std::stod(m->body.substr(at + name.size()));
  EXPECT_GE(failures, 2) << "it tried again";
  EXPECT_LE(failures, 20) << "5 ms between the first tries, doubling: about 9 in 1.5 s";
}

TEST(HttpServer, JsonErrorsAreProblems) {
  TestServer s;
  RawConnection c(s.port());
  ASSERT_TRUE(
      c.send("POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: 5\r\n\r\n{\"a\":"));
  auto bad = c.read_response();
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(bad->body, HasSubstr("not valid JSON"));
  ASSERT_TRUE(
      c.send("POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
             "Content-Length: 2\r\n\r\n{}"));
  auto type = c.read_response();
  ASSERT_TRUE(type);
  EXPECT_EQ(type->status, 415);
  ASSERT_TRUE(
      c.send("POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json; charset=utf-8\r\n"
             "Content-Length: 8\r\n\r\n{\"a\":1}\n"));
  auto good = c.read_response();
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200);
  EXPECT_EQ(good->body, R"({"a":1})");
}

TEST(HttpServer, ExpectContinueIsHonoured) {
  TestServer s;
  RawConnection c(s.port());
  ASSERT_TRUE(
      c.send("POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n"));
  EXPECT_THAT(c.read_until("100 Continue", 2s), HasSubstr("HTTP/1.1 100 Continue"));
  ASSERT_TRUE(c.send("{}"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServer, AsynchronousHandlersAnswerFromOtherThreads) {
  TestServer s;
  auto r = testing::get(s.port(), "/slow/50");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow");
}

TEST(HttpServer, ThrowingHandlerGets500AndServerKeepsServing) {
  TestServer s;
  auto r = testing::get(s.port(), "/throw");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->header("Content-Type"), "application/problem+json");
  auto after = testing::get(s.port(), "/hello");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST(HttpServer, MetricsArePerRouteTemplate) {
  TestServer s;
  ASSERT_TRUE(testing::get(s.port(), "/items/1"));
  ASSERT_TRUE(testing::get(s.port(), "/items/2"));
  ASSERT_TRUE(testing::get(s.port(), "/nope/at/all"));
  auto m = testing::get(s.port(), "/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_THAT(m->header("Content-Type").value_or(""), HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(
      m->body,
      HasSubstr(
          R"(seatflow_http_requests_total{method="GET",route="/items/{id}",status="200"} 2)"));
  EXPECT_THAT(
      m->body,
      HasSubstr(
          R"(seatflow_http_request_errors_total{class="4xx",method="GET",route="unmatched"} 1)"));
  EXPECT_THAT(
      m->body,
      HasSubstr(
          R"(seatflow_http_request_duration_seconds_count{method="GET",route="/items/{id}"} 2)"));
  EXPECT_EQ(m->body.find("/items/1"), std::string::npos) << "raw paths never become labels";
  EXPECT_EQ(m->body.find("/nope"), std::string::npos);
}

TEST(HttpServer, HealthReflectsDependencies) {
  TestServer s;
  auto live = testing::get(s.port(), "/health/live");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  auto ready = testing::get(s.port(), "/health/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);

  std::atomic<bool> db_up{false};
  s.health->add("database", [&]() -> Status {
    if (db_up) return ok();
    return fail(ErrorCode::kUnavailable, "connection refused");
  });
  auto down = testing::get(s.port(), "/health/ready");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503);
  EXPECT_THAT(down->body, HasSubstr("database (connection refused)"));
  db_up = true;
  EXPECT_EQ(testing::get(s.port(), "/health/ready")->status, 200);
}

TEST(HttpServer, GracefulShutdownFinishesRequestsInFlight) {
  TestServer s({.shutdown_grace = 5000ms});
  RawConnection in_flight(s.port());
  ASSERT_TRUE(in_flight.send("GET /slow/300 HTTP/1.1\r\nHost: x\r\n\r\n"));
  RawConnection idle(s.port());
  ASSERT_TRUE(TestServer::eventually([&] { return s.server->connection_count() == 2; }));

  const auto port = s.port();
  auto stopping = std::async(std::launch::async, [&] { s.server->stop(); });
  // The idle connection is closed at once; the request in flight completes.
  EXPECT_TRUE(idle.wait_closed(2s));
  auto r = in_flight.read_response(3s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow");
  EXPECT_FALSE(r->keep_alive) << "a draining server closes after the response";
  stopping.get();
  RawConnection after(port);
  EXPECT_FALSE(after.connected() && after.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n") &&
               after.read_response(500ms).has_value());
}

TEST(HttpServer, ShutdownDeadlineCutsOffSlowHandlers) {
  TestServer s({.shutdown_grace = 200ms});
  RawConnection c(s.port());
  ASSERT_TRUE(c.send("GET /slow/3000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(TestServer::eventually([&] { return s.server->connection_count() == 1; }));
  const auto started = std::chrono::steady_clock::now();
  s.server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2500ms);
  EXPECT_TRUE(c.wait_closed(1s));
}

TEST(HttpServer, RefusesAnAddressInUse) {
  TestServer s;
  metrics::Registry registry;
  HttpServer second(
      {.port = s.port()}, [](Request&, Responder) {}, registry);
  auto started = second.start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(started.error().message(), HasSubstr("cannot listen on 127.0.0.1:"));
}

}  // namespace
}  // namespace seatflow::http
