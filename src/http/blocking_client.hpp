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
// A request may also be sent in two halves, for a caller with other work to
// do while the server answers: start() writes it, finish() reads the answer
// later, so the caller does not sleep until the answer arrives and is not
// woken when it does. The OTLP exporter writes an export, goes back to
// waiting for its next batch, and reads the answer before it sends again.
//
// A request is sent once; the caller retries. Before each request the kept
// connection is looked at (a peek at its socket, not a wait): one the server
// has closed since (an idle keep-alive it dropped) is replaced by a new one
// before anything is written.
//
// Thread safety: none; a client belongs to one thread at a time.
#pragma once

#include <memory>
#include <string_view>

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

  // send() in two halves. start() connects if need be and writes the
  // request (errors as send()'s); the request must outlive finish(), which
  // reads the answer. The request's deadline, counted from start(), bounds
  // both; an answer that arrived within it is read even if finish() is
  // called later. finish() without a started request is
  // kFailedPrecondition; start() while an answer is unread abandons that
  // answer and its connection.
  Status start(const ClientRequest& request);
  Result<ClientResponse> finish();
  // send() and start() with `body` sent in place of request.body, which is
  // not read: bytes the caller keeps elsewhere (they must outlive finish()),
  // sent without being copied into the request first.
  Result<ClientResponse> send(const ClientRequest& request, std::string_view body);
  Status start(const ClientRequest& request, std::string_view body);
  // Whether a started request's answer is still to be read.
  bool waiting() const;

  // Whether a connection is kept for the next request (for tests).
  bool connected() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seatflow::http
