// A test fixture: a real HttpServer on a free port with the standard
// middleware and a few routes that tests poke at.
//
// Thread safety: as HttpServer.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "http/json.hpp"
#include "http/middleware.hpp"
#include "http/server.hpp"
#include "http/sse.hpp"
#include "metrics/registry.hpp"

namespace seatflow::http::testing {

class TestServer {
 public:
  explicit TestServer(ServerOptions options = {}, SseOptions sse = {})
      : hub(sse, registry), health(std::make_shared<HealthChecks>()) {
    router.add_sync(Method::kGet, "/hello",
                    [](const Request&) { return Response::text(200, "hello"); });
    router.add_sync(Method::kGet, "/items/{id}", [](const Request& r) {
      return Response::text(200, std::string(r.param("id")));
    });
    router.add_sync(Method::kPost, "/json", [](const Request& r) {
      auto body = parse_json_body(r);
      if (!body) return json_error_response(body.error());
      return json_response(200, *body);
    });
    router.add(Method::kGet, "/slow/{ms}", [this](Request& r, Responder responder) {
      const int ms = std::stoi(std::string(r.param("ms")));
      std::lock_guard lock(handler_threads_mu_);
      handler_threads_.emplace_back([ms, responder = std::move(responder)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        responder.send(Response::text(200, "slow"));
      });
    });
    router.add_sync(Method::kGet, "/throw",
                    [](const Request&) -> Response { throw std::runtime_error("boom"); });
    router.add_sync(Method::kGet, "/header/{name}", [](const Request& r) {
      return Response::text(200, std::string(r.header(r.param("name")).value_or("")));
    });
    router.add_sync(Method::kGet, "/flaky/{failures}", [this](const Request& r) {
      if (flaky_calls.fetch_add(1) < std::stoi(std::string(r.param("failures")))) {
        return problem(503, "try again");
      }
      return Response::text(200, "recovered");
    });
    router.add_sync(Method::kPost, "/flaky/{failures}", [this](const Request& r) {
      if (flaky_calls.fetch_add(1) < std::stoi(std::string(r.param("failures")))) {
        return problem(503, "try again");
      }
      return Response::text(200, "recovered");
    });
    router.add(Method::kGet, "/events/{topic}", [this](Request& r, Responder responder) {
      uint64_t last = 0;
      if (auto id = r.header("Last-Event-ID")) last = std::stoull(std::string(*id));
      responder.stream_events(hub, std::string(r.param("topic")), last);
    });
    add_observability_routes(router, registry, health);

    options.port = 0;
    entry = chain(
        {metrics_middleware(registry), access_log_middleware()},
        [this](Request& r, Responder responder) { router.dispatch(r, std::move(responder)); });
    server = std::make_unique<HttpServer>(options, entry, registry);
    auto started = server->start();
    if (!started) throw std::runtime_error(started.error().to_string());
  }

  // The server goes first; handlers still running then answer into the void.
  ~TestServer() {
    server.reset();
    std::lock_guard lock(handler_threads_mu_);
    for (auto& t : handler_threads_) t.join();
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return server->port(); }
  // "http://127.0.0.1:<port><path>": a URL for a client under test.
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + std::string(path);
  }

  // Waits for `condition` up to `timeout`.
  template <typename F>
  static bool eventually(F condition,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  metrics::Registry registry;
  SseHub hub;
  std::shared_ptr<HealthChecks> health;
  Router router;
  std::atomic<int> flaky_calls{0};
  Handler entry;  // the server's: middleware, then the router
  std::unique_ptr<HttpServer> server;

 private:
  std::mutex handler_threads_mu_;
  std::vector<std::thread> handler_threads_;
};

}  // namespace seatflow::http::testing
