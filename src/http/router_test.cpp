#include "http/router.hpp"

#include <gtest/gtest.h>

namespace seatflow::http {
namespace {

class CapturingSink : public ResponseSink {
 public:
  void deliver(Response r, SendHooks hooks) override {
    run_send_hooks(hooks, r);
    response = std::move(r);
  }
  void deliver_stream(Response, SendHooks, SseHub&, std::string, uint64_t) override {}
  std::optional<Response> response;
};

Response route(const Router& router, Method method, std::string path, Request* seen = nullptr) {
  auto sink = std::make_shared<CapturingSink>();
  Request request;
  request.method = method;
  request.path = std::move(path);
  router.dispatch(request, Responder(sink));
  if (seen != nullptr) *seen = request;
  return sink->response.value_or(Response::empty(0));
}

Router make_router() {
  Router router;
  router.add_sync(Method::kGet, "/api/orders/{id}",
                  [](const Request& r) { return Response::text(200, std::string(r.param("id"))); });
  router.add_sync(Method::kPost, "/api/orders",
                  [](const Request&) { return Response::empty(202); });
  router.add_sync(Method::kGet, "/api/events/{event}/seats/{seat}", [](const Request& r) {
    return Response::text(200, std::string(r.param("event")) + "/" + std::string(r.param("seat")));
  });
  return router;
}

TEST(Router, MatchesTemplatesAndExtractsDecodedParams) {
  const Router router = make_router();
  Request seen;
  Response r = route(router, Method::kGet, "/api/orders/o%2F1", &seen);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "o/1");
  EXPECT_EQ(seen.route, "/api/orders/{id}");
  EXPECT_EQ(route(router, Method::kGet, "/api/events/e1/seats/A-7").body, "e1/A-7");
}

TEST(Router, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  const Router router = make_router();
  Request seen;
  EXPECT_EQ(route(router, Method::kGet, "/nope", &seen).status, 404);
  EXPECT_EQ(seen.route, "unmatched");
  Response r = route(router, Method::kDelete, "/api/orders");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.get("Allow"), "POST");
  EXPECT_NE(r.body.find("method DELETE is not allowed here; allowed: POST"), std::string::npos);
  // A method it does not know is not named "OTHER".
  r = route(router, Method::kOther, "/api/orders");
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.body.find("the request's method is not allowed here"), std::string::npos) << r.body;
  EXPECT_EQ(route(router, Method::kGet, "/api/orders/").status, 404);  // empty param
}

TEST(Router, FallbackTakesUnmatchedPathsButNotWrongMethods) {
  Router router = make_router();
  router.set_fallback("ui", [](Request& r, Responder responder) {
    responder.send(Response::text(200, "ui:" + r.path));
  });
  Request seen;
  Response r = route(router, Method::kGet, "/events/7", &seen);
  EXPECT_EQ(r.body, "ui:/events/7");
  EXPECT_EQ(seen.route, "ui");
  EXPECT_EQ(route(router, Method::kDelete, "/api/orders").status, 405);
}

TEST(Router, HeadIsServedByGet) {
  EXPECT_EQ(route(make_router(), Method::kHead, "/api/orders/7").status, 200);
}

TEST(Router, RefusesDotSegmentsAndBadEscapes) {
  const Router router = make_router();
  EXPECT_EQ(route(router, Method::kGet, "/api/orders/..").status, 400);
  EXPECT_EQ(route(router, Method::kGet, "/api/%2e%2e/orders/1").status, 400);
  EXPECT_EQ(route(router, Method::kGet, "/api/orders/%zz").status, 400);
}

TEST(Router, MiddlewareRunsOutermostFirstAndSeesTheResponse) {
  struct Tag : Middleware {
    Tag(std::string tag_name, std::string* out) : name(std::move(tag_name)), trace(out) {}
    void handle(Request& r, Responder responder, const Handler& next) override {
      *trace += name + ">";
      responder.on_send([this](Response& resp) {
        *trace += "<" + name;
        resp.headers.add("X", name);
      });
      next(r, std::move(responder));
    }
    std::string name;
    std::string* trace;
  };
  std::string trace;
  Router router = make_router();
  Handler entry =
      chain({std::make_shared<Tag>("a", &trace), std::make_shared<Tag>("b", &trace)},
            [&](Request& r, Responder responder) { router.dispatch(r, std::move(responder)); });
  auto sink = std::make_shared<CapturingSink>();
  Request request;
  request.path = "/api/orders/1";
  entry(request, Responder(sink));
  EXPECT_EQ(trace, "a>b><b<a");
  EXPECT_EQ(sink->response->headers.get_all("X"), (std::vector<std::string_view>{"b", "a"}));
}

TEST(Responder, AnswersFiveHundredWhenDroppedUnanswered) {
  auto sink = std::make_shared<CapturingSink>();
  { Responder r(sink); }
  ASSERT_TRUE(sink->response);
  EXPECT_EQ(sink->response->status, 500);
}

}  // namespace
}  // namespace seatflow::http
