// The SSE benchmark's server: Seatflow's HTTP server and SSE hub with one
// stream route and one publish route, nothing else.
//
//   GET  /events/{topic}      the stream
//   POST /publish/{topic}     publishes the request body as one event
//
// Usage: sse_server PORT THREADS
#include <csignal>
#include <cstdio>
#include <string>

#include "http/middleware.hpp"
#include "http/server.hpp"
#include "http/sse.hpp"
#include "metrics/registry.hpp"

int main(int argc, char** argv) {
  using namespace seatflow;
  if (argc != 3) {
    std::fprintf(stderr, "usage: sse_server PORT THREADS\n");
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  metrics::Registry registry;
  http::SseHub hub({.max_queued_bytes = size_t{1024} * 1024}, registry);
  http::Router router;
  router.add(http::Method::kGet, "/events/{topic}",
             [&hub](http::Request& r, http::Responder responder) {
               responder.stream_events(hub, std::string(r.param("topic")), 0);
             });
  router.add_sync(http::Method::kPost, "/publish/{topic}", [&hub](const http::Request& r) {
    const uint64_t id = hub.publish(r.param("topic"), "tick", r.body);
    return http::Response::json(200, "{\"id\":" + std::to_string(id) + "}");
  });
  http::add_observability_routes(router, registry, std::make_shared<http::HealthChecks>());

  http::HttpServer server(
      {.port = static_cast<uint16_t>(std::stoi(argv[1])),
       .threads = std::stoi(argv[2]),
       .max_connections = 100'000},
      [&router](http::Request& r, http::Responder responder) {
        router.dispatch(r, std::move(responder));
      },
      registry);
  if (auto started = server.start(); !started) {
    std::fprintf(stderr, "sse_server: %s\n", started.error().to_string().c_str());
    return 1;
  }
  std::printf("listening on %u\n", server.port());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&signals, &signal);
  server.stop();
  return 0;
}
