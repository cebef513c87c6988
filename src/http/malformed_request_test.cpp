// A corpus of malformed and hostile requests. Each must get a 4xx (never a
// crash, a hang or a 2xx), and the server must go on serving.
#include <gtest/gtest.h>

#include "http/test_client.hpp"
#include "http/test_server.hpp"

namespace seatflow::http {
namespace {

using testing::RawConnection;
using testing::TestServer;
using namespace std::chrono_literals;

struct Case {
  const char* name;
  std::string bytes;
  int expected;  // the exact status, or 0 for "any 4xx"
};

std::string json_post(std::string_view body, std::string_view type = "application/json") {
  return "POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: " + std::string(type) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

std::vector<Case> corpus() {
  const std::string host = "Host: x\r\n";
  std::string many_headers = "GET /hello HTTP/1.1\r\n" + host;
  for (int i = 0; i < 2000; ++i) many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  many_headers += "\r\n";
  return {
      // Request lines.
      {"garbage line", "GARBAGE\r\n\r\n", 400},
      {"method only", "GET\r\n\r\n", 400},
      {"no version", "GET /hello\r\n\r\n", 400},
      {"bad protocol", "GET /hello HTTX/1.1\r\n" + host + "\r\n", 400},
      {"bad version digits", "GET /hello HTTP/1.x\r\n" + host + "\r\n", 400},
      {"space in target", "GET /he llo HTTP/1.1\r\n" + host + "\r\n", 400},
      {"lowercase method", "get /hello HTTP/1.1\r\n" + host + "\r\n", 0},
      {"unknown method", "BREW /hello HTTP/1.1\r\n" + host + "\r\n", 405},
      {"binary in request line", std::string("GET /\x01\x02 HTTP/1.1\r\n") + host + "\r\n", 400},
      {"bare LF line endings", "GET /hello HTTP/1.1\nHost: x\n\n", 400},
      {"request line too long", "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n" + host + "\r\n",
       431},
      // Targets and paths.
      {"missing Host", "GET /hello HTTP/1.1\r\n\r\n", 400},
      {"absolute-form target", "GET http://evil.example/hello HTTP/1.1\r\n" + host + "\r\n", 400},
      {"asterisk target", "GET * HTTP/1.1\r\n" + host + "\r\n", 400},
      {"dot-dot traversal", "GET /../../etc/passwd HTTP/1.1\r\n" + host + "\r\n", 400},
      {"encoded traversal", "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n" + host + "\r\n", 400},
      {"encoded NUL", "GET /hello%00.txt HTTP/1.1\r\n" + host + "\r\n", 400},
      {"bad percent escape", "GET /hello%zz HTTP/1.1\r\n" + host + "\r\n", 400},
      {"truncated percent escape", "GET /hello% HTTP/1.1\r\n" + host + "\r\n", 400},
      {"unknown path", "GET /etc/passwd HTTP/1.1\r\n" + host + "\r\n", 404},
      // Headers.
      {"header without colon", "GET /hello HTTP/1.1\r\nHost x\r\n\r\n", 400},
      {"space before colon", "GET /hello HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"control character in name",
       std::string("GET /hello HTTP/1.1\r\nX\x01Y: z\r\n") + host + "\r\n", 400},
      {"NUL in value", std::string("GET /hello HTTP/1.1\r\nX: a\0b\r\n", 28) + host + "\r\n", 400},
      {"huge header value",
       "GET /hello HTTP/1.1\r\n" + host + "X: " + std::string(20000, 'v') + "\r\n\r\n", 431},
      {"too many headers", many_headers, 431},
      // Framing.
      {"non-numeric Content-Length",
       "POST /json HTTP/1.1\r\n" + host + "Content-Length: abc\r\n\r\n", 400},
      {"negative Content-Length", "POST /json HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n",
       400},
      {"conflicting Content-Lengths",
       "POST /json HTTP/1.1\r\n" + host + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400},
      {"Content-Length with chunked",
       "POST /json HTTP/1.1\r\n" + host +
           "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
       400},
      {"unknown transfer coding",
       "POST /json HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n{}", 400},
      {"bad chunk size",
       "POST /json HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
       400},
      {"chunk size overflow",
       "POST /json HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
       0},
      {"chunk without CRLF",
       "POST /json HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
       400},
      {"body larger than the limit",
       "POST /json HTTP/1.1\r\n" + host +
           "Content-Type: application/json\r\nContent-Length: 99999999\r\n\r\n",
       413},
      {"chunked body larger than the limit",
       "POST /json HTTP/1.1\r\n" + host +
           "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + "20000\r\n" +
           std::string(0x20000, 'a') + "\r\n0\r\n\r\n",
       413},
      {"truncated body", "POST /json HTTP/1.1\r\n" + host + "Content-Length: 10\r\n\r\n{}", 400},
      // Bodies.
      {"invalid JSON", json_post("{not json}"), 400},
      {"truncated JSON", json_post("{\"a\":"), 400},
      {"empty JSON body", json_post(""), 400},
      {"JSON as text/plain", json_post("{}", "text/plain"), 415},
      {"JSON without a content type",
       "POST /json HTTP/1.1\r\n" + host + "Content-Length: 2\r\n\r\n{}", 415},
      {"invalid UTF-8 in JSON", json_post("{\"a\":\"\xff\xfe\"}"), 400},
      {"deeply nested JSON", json_post(std::string(10000, '[') + std::string(10000, ']')), 400},
      {"JSON with trailing garbage", json_post("{} {}"), 400},
  };
}

class MalformedRequests : public ::testing::Test {
 protected:
  TestServer server_{{.max_body_bytes = size_t{64} * 1024, .read_timeout = 2000ms}};
};

TEST_F(MalformedRequests, EachGetsA4xxAndTheServerKeepsServing) {
  const auto cases = corpus();
  ASSERT_GE(cases.size(), 30u);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RawConnection conn(server_.port());
    ASSERT_TRUE(conn.connected());
    conn.send(c.bytes);  // the server may close early; that is fine
    conn.shutdown_write();
    auto response = conn.read_response(3s);
    ASSERT_TRUE(response.has_value()) << "no response for: " << c.name;
    if (c.expected != 0) {
      EXPECT_EQ(response->status, c.expected) << response->head << "\n" << response->body;
    } else {
      EXPECT_GE(response->status, 400) << response->head;
      EXPECT_LT(response->status, 500) << response->head;
    }
    EXPECT_EQ(response->header("Content-Type"), "application/problem+json");

    auto alive = testing::get(server_.port(), "/hello");
    ASSERT_TRUE(alive.has_value()) << "server stopped serving after: " << c.name;
    EXPECT_EQ(alive->status, 200);
  }
  EXPECT_TRUE(TestServer::eventually([&] { return server_.server->connection_count() == 0; }));
}

}  // namespace
}  // namespace seatflow::http
