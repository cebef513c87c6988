// A blocking HTTP/1.1 client for one thread that sends a request now and
// then and has nothing else to do while it waits: the OTLP exporter's
// worker, say.
//
// The request is written and the response read on the caller's thread,
// over one keep-alive connection kept between requests (one per client; a
// request to another host replaces it). Nothing is handed to another
// thread, and no timer is armed: the deadline bounds each wait for the
// socket (poll), so a request costs its socket's system calls and nothing
// more. HttpClient, by contrast, runs every request on its own thread's
// event loop, which costs two thread switches and a timer a request.
//
// A request is sent once; the caller retries. Before each request the kept
// connection is looked at (a peek at its socket, not a wait): one the server
// has closed since (an idle keep-alive it dropped) is replaced by a new one
// before anything is written.
//
// Thread safety: none; a client belongs to one thread at a time.
#pragma once

#include <memory>

#include "core/status.hpp"
#include "http/client.hpp"

namespace seatflow::http {

class BlockingClient {
 public:
  explicit BlockingClient(ClientOptions options = {});
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  // Errors as HttpClient::send: kInvalidArgument (bad URL), kUnavailable
  // (cannot connect, or the connection broke), kDeadlineExceeded,
  // kResourceExhausted (response larger than max_response_bytes). An HTTP
  // error status is a response, not an error. The request is read, not
  // taken: a large body the caller reuses is not copied.
  Result<ClientResponse> send(const ClientRequest& request);

  // Whether a connection is kept for the next request (for tests).
  bool connected() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seatflow::http
