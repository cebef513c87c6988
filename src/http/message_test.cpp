#include "http/message.hpp"

#include <gtest/gtest.h>

namespace seatflow::http {
namespace {

TEST(Headers, CaseInsensitiveAndOrdered) {
  Headers h;
  h.add("Content-Type", "text/plain");
  h.add("X-A", "1");
  h.add("x-a", "2");
  EXPECT_EQ(h.get("content-type"), "text/plain");
  EXPECT_EQ(h.get_all("X-a"), (std::vector<std::string_view>{"1", "2"}));
  h.set("X-A", "3");
  EXPECT_EQ(h.get_all("x-a"), (std::vector<std::string_view>{"3"}));
  h.remove("X-A");
  EXPECT_FALSE(h.get("x-a"));
}

TEST(Problem, IsRfc9457Json) {
  Response r = problem(404, "order \"x\" not found");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers.get("Content-Type"), "application/problem+json");
  EXPECT_EQ(
      r.body,
      R"({"type":"about:blank","title":"Not Found","status":404,"detail":"order \"x\" not found"})");
}

TEST(Problem, ErrorCodesMapToStatuses) {
  EXPECT_EQ(status_for(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(status_for(ErrorCode::kNotFound), 404);
  EXPECT_EQ(status_for(ErrorCode::kConflict), 409);
  EXPECT_EQ(status_for(ErrorCode::kFailedPrecondition), 422);
  EXPECT_EQ(status_for(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(status_for(ErrorCode::kDeadlineExceeded), 504);
  // Internal details are not leaked.
  Response r = problem_for(Error(ErrorCode::kInternal, "SQLSTATE 42P01 relation foo"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("SQLSTATE"), std::string::npos);
}

TEST(PercentDecode, DecodesAndRejectsBadEscapes) {
  EXPECT_EQ(percent_decode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%2"));
  EXPECT_FALSE(percent_decode("%zz"));
  EXPECT_FALSE(percent_decode("a%00b"));
}

TEST(Request, QueryParameters) {
  Request r;
  r.query = "a=1&b=hello%20world&c&a=2";
  EXPECT_EQ(r.query_param("a"), "1");
  EXPECT_EQ(r.query_param("b"), "hello world");
  EXPECT_EQ(r.query_param("c"), "");
  EXPECT_FALSE(r.query_param("d"));
}

TEST(Methods, ParseAndIdempotency) {
  EXPECT_EQ(parse_method("GET"), Method::kGet);
  EXPECT_EQ(parse_method("get"), Method::kOther);
  EXPECT_EQ(parse_method("BREW"), Method::kOther);
  EXPECT_TRUE(is_idempotent(Method::kPut));
  EXPECT_FALSE(is_idempotent(Method::kPost));
}

}  // namespace
}  // namespace seatflow::http

namespace seatflow::http {
namespace {

TEST(Redact, CredentialsInAQueryReadRedacted) {
  EXPECT_EQ(redact_query("access_token=abc.123.sig"), "access_token=REDACTED");
  EXPECT_EQ(redact_query("a=1&access_token=abc&b=2"), "a=1&access_token=REDACTED&b=2");
  EXPECT_EQ(redact_query("sig=x&Signature=y&X-Goog-Signature=z&AWSAccessKeyId=w"),
            "sig=REDACTED&Signature=REDACTED&X-Goog-Signature=REDACTED&AWSAccessKeyId=REDACTED");
  // Other parameters, a key alone and empty pairs stay as they were.
  EXPECT_EQ(redact_query("last_event_id=4&access_token&&x="), "last_event_id=4&access_token&&x=");
  EXPECT_EQ(redact_query("my_access_token=1"), "my_access_token=1");
  EXPECT_EQ(redact_query(""), "");
  EXPECT_EQ(redact_target("/api/orders/1/events?access_token=t0k3n"),
            "/api/orders/1/events?access_token=REDACTED");
  EXPECT_EQ(redact_target("/api/events"), "/api/events");
}

TEST(HttpDate, IsTheImfFixdateOfRfc9110) {
  using std::chrono::sys_seconds;
  EXPECT_EQ(format_http_date(sys_seconds(std::chrono::seconds(784111777))),
            "Sun, 06 Nov 1994 08:49:37 GMT");  // the RFC's own example
  EXPECT_EQ(format_http_date(sys_seconds(std::chrono::seconds(0))),
            "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(sys_seconds(std::chrono::seconds(951868799))),
            "Tue, 29 Feb 2000 23:59:59 GMT");
}

}  // namespace
}  // namespace seatflow::http
