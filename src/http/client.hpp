// An asynchronous HTTP/1.1 client with a keep-alive pool per host.
//
// Each request has one deadline covering every attempt. Idempotent requests
// (GET, HEAD, PUT, DELETE, OPTIONS, or any request carrying an
// Idempotency-Key header) are retried with exponential backoff and jitter on
// connection failures and on 502/503/504, honouring Retry-After when it
// fits in the deadline; other requests are sent once. A header hook runs on
// the caller's thread before each request is queued, so it sees the caller's
// context (the trace context of the current span, say).
//
// A peer served by this very process (serve_locally(), the embedded mode's
// services calling each other) is called without a socket: the request goes
// straight to the server's entry handler, its middleware included, on the
// caller's thread.
//
// Thread safety: async_send() and send() may be called from any thread;
// callbacks run on the client's own thread and must not block it, except
// for a peer served locally (see serve_locally()). send() must not be called
// from the client's thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/status.hpp"
#include "http/message.hpp"
#include "http/router.hpp"

namespace seatflow::trace {
class Tracer;
}

namespace seatflow::http {

struct ClientOptions {
  size_t max_idle_per_host = 64;
  int max_attempts = 3;
  std::chrono::milliseconds backoff_initial{25};
  std::chrono::milliseconds backoff_max{1000};
  std::chrono::milliseconds default_deadline{10'000};
  size_t max_response_bytes = size_t{8} * 1024 * 1024;
};

struct ClientRequest {
  Method method = Method::kGet;
  std::string url;  // http://host:port/path?query
  Headers headers;
  std::string body;
  std::chrono::milliseconds deadline{0};  // 0: ClientOptions::default_deadline
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
  int attempts = 0;  // how many tries it took
};

class HttpClient {
 public:
  using Callback = std::function<void(Result<ClientResponse>)>;

  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();  // fails pending requests with kCancelled and joins the thread
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Runs on the caller's thread for every request before it is queued.
  void set_header_hook(std::function<void(ClientRequest&)> hook);

  // Gives every request a CLIENT span, child of the caller's current
  // context, propagated in traceparent/tracestate (see http/tracing.hpp).
  // The tracer must outlive the client. Call before sending.
  void set_tracer(const trace::Tracer* tracer);

  // Sends requests whose URL names `authority` ("127.0.0.1:8080") to `entry`
  // in this process instead of over TCP: `entry` is a server's entry handler
  // (its middleware chain), so the call is traced, counted and routed as if
  // it had come in on the socket. The handler runs on the caller's thread;
  // one that answers at once completes the call there, before async_send()
  // returns, and is never cut short by the deadline (its answer is known).
  // One that answers later completes it on the thread that answers, or with
  // kDeadlineExceeded on the client's thread. Retries are as over TCP. A
  // stream (SSE) cannot be answered in process: kUnimplemented. May be
  // called while sending; what `entry` calls must stay usable while the
  // client is.
  void serve_locally(std::string authority, Handler entry);

  // Errors: kInvalidArgument (bad URL), kUnavailable (cannot connect or the
  // connection broke), kDeadlineExceeded, kResourceExhausted (response too
  // large). An HTTP error status is a response, not an error.
  void async_send(ClientRequest request, Callback callback);

  // Blocks the calling thread until the response or error.
  Result<ClientResponse> send(ClientRequest request);

  // Connections currently idle in the pool (for tests).
  size_t idle_connections() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace seatflow::http
