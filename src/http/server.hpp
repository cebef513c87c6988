// The HTTP/1.1 server: Boost.Beast on Asio, C++20 coroutines, one
// io_context per worker thread (a connection lives on one thread for life).
//
// Every request is parsed with limits (header size -> 431, body size -> 413,
// a read timeout for a request once begun -> 408, an idle timeout between
// keep-alive requests, a maximum number of connections -> 503), turned into
// an http::Request and passed to one entry Handler (usually a middleware
// chain ending in a Router). Malformed requests get a 4xx problem+json and
// the connection is closed; nothing a client sends can stop the server.
//
// stop() is graceful: it stops accepting, lets in-flight requests finish
// (their responses carry `Connection: close`), closes idle and streaming
// connections, and after `shutdown_grace` closes whatever is left.
//
// Thread safety: start() and stop() from one controlling thread; the entry
// handler runs on worker threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.hpp"
#include "http/router.hpp"

namespace seatflow::metrics {
class Registry;
}

namespace seatflow::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port; see HttpServer::port()
  int threads = 2;
  size_t max_header_bytes = size_t{16} * 1024;
  size_t max_body_bytes = size_t{1024} * 1024;
  std::chrono::milliseconds read_timeout{10'000};  // to receive a request once begun
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{10'000};
  size_t max_connections = 20'000;
  std::chrono::milliseconds shutdown_grace{10'000};
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, Handler entry, metrics::Registry& registry);
  ~HttpServer();  // stop()s if running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the worker threads. kUnavailable if the address is taken.
  Status start();

  // The bound port (useful with port 0). REQUIRES: start() succeeded.
  uint16_t port() const;

  // Graceful shutdown; returns when every worker thread has ended.
  void stop();

  size_t connection_count() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace seatflow::http
