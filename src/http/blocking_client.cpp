#include "http/blocking_client.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <optional>
#include <string>
#include <system_error>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include "http/client_wire.hpp"

namespace seatflow::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Waits until `fd` is ready for `events` (or has an error for the next call
// to report); false once the deadline has passed. Past the deadline it
// still looks once, without waiting: what arrived in time is not lost to a
// caller that comes to read it late.
bool wait_for(int fd, short events, SteadyClock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
    pollfd p{.fd = fd, .events = events, .revents = 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::clamp<int64_t>(left, 0, INT_MAX)));
    if (n > 0 || (n < 0 && errno != EINTR)) return true;
    if (left <= 0 && n == 0) return false;
  }
}

bool would_block(const beast::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

class BlockingClient::Impl {
 public:
  explicit Impl(ClientOptions options) : options_(options) {}

  Result<ClientResponse> send(const ClientRequest& request, std::string_view body);
  Status start(const ClientRequest& request, std::string_view body);
  Result<ClientResponse> finish();
  bool waiting() const { return waiting_.has_value(); }
  bool connected() const { return socket_.is_open(); }

 private:
  // Whether the kept connection may carry a request: open, and neither
  // closed by the server nor holding anything it was not asked for.
  bool idle_and_open();
  Status connect(const Target& target, SteadyClock::time_point deadline);
  Status write(const Target& target, const ClientRequest& request, std::string_view body,
               SteadyClock::time_point deadline);

  // A request written and its answer not read yet.
  struct Waiting {
    Target target;
    Method method;
    SteadyClock::time_point deadline;
  };
  Result<ClientResponse> read(const Waiting& waiting);

  void close() {
    beast::error_code ignored;
    socket_.close(ignored);
    buffer_.clear();
    connected_to_.clear();
  }

  const ClientOptions options_;
  asio::io_context io_;  // the socket's service; never run: every call here is synchronous
  tcp::socket socket_{io_};
  std::string connected_to_;  // the open socket's "host:port"
  beast::flat_buffer buffer_;
  std::optional<Waiting> waiting_;
};

bool BlockingClient::Impl::idle_and_open() {
  if (!socket_.is_open()) return false;
  char byte = 0;
  const ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

Status BlockingClient::Impl::connect(const Target& target, SteadyClock::time_point deadline) {
  close();
  beast::error_code ec;
  tcp::resolver resolver(io_);
  const auto endpoints = resolver.resolve(target.host, target.port, ec);
  if (ec)
    return fail(ErrorCode::kUnavailable, "cannot resolve " + target.host + ": " + ec.message());
  std::string why = "no address";
  for (const auto& entry : endpoints) {
    const tcp::endpoint endpoint = entry.endpoint();
    socket_.open(endpoint.protocol(), ec);
    if (!ec) socket_.non_blocking(true, ec);
    if (ec) {
      why = ec.message();
      close();
      continue;
    }
    // A connect of its own, not asio's: asio's synchronous connect waits
    // without a deadline.
    const int fd = socket_.native_handle();
    int error =
        ::connect(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) == 0 ? 0 : errno;
    if (error == EINPROGRESS) {
      if (!wait_for(fd, POLLOUT, deadline)) {
        close();
        return fail(ErrorCode::kDeadlineExceeded,
                    "deadline exceeded connecting to " + target.key());
      }
      socklen_t size = sizeof error;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
    }
    if (error == 0) {
      socket_.set_option(tcp::no_delay(true), ec);
      connected_to_ = target.key();
      return ok();
    }
    why = std::system_category().message(error);
    close();
  }
  return fail(ErrorCode::kUnavailable, "cannot connect to " + target.key() + ": " + why);
}

Status BlockingClient::Impl::write(const Target& target, const ClientRequest& request,
                                   std::string_view body, SteadyClock::time_point deadline) {
  const int fd = socket_.native_handle();
  WireRequest req = wire_request(target, request);
  if (body.data() != request.body.data() || body.size() != request.body.size()) {
    req.body() = {body.data(), body.size()};
    req.prepare_payload();
  }
  beast::error_code ec;
  bhttp::request_serializer<WireRequest::body_type> serializer(req);
  while (!serializer.is_done()) {
    bhttp::write_some(socket_, serializer, ec);
    if (would_block(ec)) {
      if (!wait_for(fd, POLLOUT, deadline)) return fail(too_late(target));
    } else if (ec) {
      return fail(broken(target, ec));
    }
  }
  return ok();
}

Result<ClientResponse> BlockingClient::Impl::read(const Waiting& waiting) {
  const int fd = socket_.native_handle();
  const Target& target = waiting.target;
  ResponseParser parser;
  expect_answer(parser, waiting.method, options_.max_response_bytes);
  // Look before reading: right after the request (send()) the answer is not
  // there yet, and a read would be in vain; when finish() comes later, the
  // look returns at once.
  if (!wait_for(fd, POLLIN, waiting.deadline)) return fail(too_late(target));
  beast::error_code ec;
  while (!parser.is_done()) {
    bhttp::read_some(socket_, buffer_, parser, ec);
    if (would_block(ec)) {
      if (!wait_for(fd, POLLIN, waiting.deadline)) return fail(too_late(target));
    } else if (ec == bhttp::error::body_limit) {
      return fail(too_large(target, options_.max_response_bytes));
    } else if (ec) {
      return fail(broken(target, ec));
    }
  }

  if (!parser.get().keep_alive()) close();
  ClientResponse response = client_response(parser);
  response.attempts = 1;
  return response;
}

Status BlockingClient::Impl::start(const ClientRequest& request, std::string_view body) {
  if (waiting_) {  // an unread answer would be taken for this request's
    waiting_.reset();
    close();
  }
  auto target = parse_url(request.url);
  if (!target) return fail(target.error());
  const auto deadline =
      SteadyClock::now() +
      (request.deadline.count() > 0 ? request.deadline : options_.default_deadline);
  if (connected_to_ != target->key() || !idle_and_open()) {
    if (auto connected = connect(*target, deadline); !connected) return connected;
  }
  if (auto written = write(*target, request, body, deadline); !written) {
    close();  // a request half written leaves the connection unusable
    return written;
  }
  waiting_ = Waiting{std::move(*target), request.method, deadline};
  return ok();
}

Result<ClientResponse> BlockingClient::Impl::finish() {
  if (!waiting_) {
    return fail(ErrorCode::kFailedPrecondition, "no request is waiting for its answer");
  }
  const Waiting waiting = std::move(*waiting_);
  waiting_.reset();
  auto response = read(waiting);
  if (!response) close();  // a broken or half-read connection is not reused
  return response;
}

Result<ClientResponse> BlockingClient::Impl::send(const ClientRequest& request,
                                                  std::string_view body) {
  if (auto started = start(request, body); !started) return fail(started.error());
  return finish();
}

BlockingClient::BlockingClient(ClientOptions options) : impl_(std::make_unique<Impl>(options)) {}

BlockingClient::~BlockingClient() = default;

Result<ClientResponse> BlockingClient::send(const ClientRequest& request) {
  return impl_->send(request, request.body);
}

Status BlockingClient::start(const ClientRequest& request) {
  return impl_->start(request, request.body);
}

Result<ClientResponse> BlockingClient::send(const ClientRequest& request, std::string_view body) {
  return impl_->send(request, body);
}

Status BlockingClient::start(const ClientRequest& request, std::string_view body) {
  return impl_->start(request, body);
}

Result<ClientResponse> BlockingClient::finish() { return impl_->finish(); }

bool BlockingClient::waiting() const { return impl_->waiting(); }

bool BlockingClient::connected() const { return impl_->connected(); }

}  // namespace seatflow::http
