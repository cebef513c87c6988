// How a handler answers: once, now or later, from any thread.
//
// A Responder is move-only. send() delivers the response to the connection
// that received the request (posting to its thread); stream_events() turns the
// response into a Server-Sent Events stream. Middleware wraps a Responder
// with on_send() hooks that see the response just before it leaves, in the
// reverse order of wrapping.
//
// A Responder destroyed without answering answers 500, so a lost request
// never hangs its connection.
//
// Thread safety: send() may be called from any thread, once.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/message.hpp"

namespace seatflow::http {

class SseHub;

// Hooks added by middleware, run on the response just before it is sent.
using SendHooks = std::vector<std::function<void(Response&)>>;

// Sets response.answered_at, then runs `hooks` on `response`, last added
// first, and clears them.
void run_send_hooks(SendHooks& hooks, Response& response);

// Where a response goes; implemented by the server's connection. The sink
// runs the hooks on its own thread, and only while the request is still
// alive: a response that arrives after its connection gave up (shutdown) is
// dropped without running them.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void deliver(Response response, SendHooks hooks) = 0;
  // Switches the connection to an SSE stream of `topic` from `hub`,
  // resuming after `last_event_id` (0: no resume).
  virtual void deliver_stream(Response headers, SendHooks hooks, SseHub& hub, std::string topic,
                              uint64_t last_event_id) = 0;
};

// Where an SSE stream starts: after the Last-Event-ID header (sent by an
// EventSource that reconnects), else after the `last_event_id` query
// parameter (a first connection from a snapshot's stream position, which
// EventSource cannot send as a header), else from now (0). A value that is
// not a decimal number counts as absent.
uint64_t last_event_id(const Request& request);

class Responder {
 public:
  explicit Responder(std::shared_ptr<ResponseSink> sink) : sink_(std::move(sink)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&&) noexcept = default;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void send(Response response);

  // Answers with an SSE stream. `headers` may add headers to the 200 response.
  void stream_events(SseHub& hub, std::string topic, uint64_t last_event_id,
                     Response headers = Response::empty(200));

  // Runs `hook` on the response before it is sent (also on a stream's head).
  void on_send(std::function<void(Response&)> hook) { hooks_.push_back(std::move(hook)); }

  bool answered() const { return sink_ == nullptr; }

 private:
  std::shared_ptr<ResponseSink> sink_;
  SendHooks hooks_;
};

}  // namespace seatflow::http
