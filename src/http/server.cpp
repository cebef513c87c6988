#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <list>
#include <optional>
#include <thread>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "http/sse.hpp"
#include "metrics/registry.hpp"

namespace seatflow::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct ServerMetrics {
  explicit ServerMetrics(prometheus::Registry& r)
      : rejected(prometheus::BuildCounter()
                     .Name("seatflow_http_connections_rejected_total")
                     .Help("Connections refused because max_connections was reached")
                     .Register(r)
                     .Add({})),
        malformed(prometheus::BuildCounter()
                      .Name("seatflow_http_malformed_requests_total")
                      .Help("Requests refused before routing: unparseable or over a limit")
                      .Register(r)
                      .Add({})),
        accept_failures(prometheus::BuildCounter()
                            .Name("seatflow_http_accept_failures_total")
                            .Help("Failed accepts of a new connection, e.g. when the process "
                                  "is out of file descriptors")
                            .Register(r)
                            .Add({})) {}
  prometheus::Counter& rejected;
  prometheus::Counter& malformed;
  prometheus::Counter& accept_failures;
};

// The status and detail for a request that could not be parsed.
std::pair<int, std::string> parse_failure(const beast::error_code& ec, const ServerOptions& o) {
  if (ec == bhttp::error::header_limit) {
    return {431, "the request header exceeds " + std::to_string(o.max_header_bytes) + " bytes"};
  }
  if (ec == bhttp::error::body_limit) {
    return {413, "the request body exceeds " + std::to_string(o.max_body_bytes) + " bytes"};
  }
  if (ec == beast::error::timeout) {
    return {408, "the request was not received within " + std::to_string(o.read_timeout.count()) +
                     " ms"};
  }
  return {400, "malformed HTTP request: " + ec.message()};
}

// "Date: <now>\r\n": RFC 9110 has an origin server with a clock send it on
// every response. Formatted once a second on each thread.
std::string_view date_line() {
  thread_local std::chrono::sys_seconds formatted_for{};
  thread_local std::string line;
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (line.empty() || now != formatted_for) {
    line = "Date: " + format_http_date(now) + "\r\n";
    formatted_for = now;
  }
  return line;
}

std::string serialize_head(const Response& response, bool keep_alive) {
  std::string head = "HTTP/1.1 ";
  head += std::to_string(response.status);
  head += ' ';
  head += reason_phrase(response.status);
  head += "\r\n";
  head += date_line();
  for (const auto& h : response.headers) {
    head += h.name;
    head += ": ";
    head += h.value;
    head += "\r\n";
  }
  head += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  return head;
}

// A wake-up call for one coroutine, on its own thread: wait() suspends until
// notify(); a notify() with nobody waiting is remembered. notify() resumes
// the waiter inline, with no queue hop and no timer.
class Wakeup {
 public:
  explicit Wakeup(asio::any_io_executor executor) : executor_(std::move(executor)) {}

  template <typename Token>
  auto async_wait(Token&& token) {
    return asio::async_initiate<Token, void()>(
        [this](auto handler) {
          if (notified_) {
            notified_ = false;
            asio::post(executor_, std::move(handler));
            return;
          }
          handler_ = std::make_unique<Held<decltype(handler)>>(std::move(handler));
        },
        token);
  }

  void notify() {
    if (handler_) {
      auto held = std::move(handler_);
      held->invoke();
    } else {
      notified_ = true;
    }
  }

 private:
  struct HeldBase {
    virtual ~HeldBase() = default;
    virtual void invoke() = 0;
  };
  template <typename Handler>
  struct Held final : HeldBase {
    explicit Held(Handler&& h) : handler(std::move(h)) {}
    void invoke() override { std::move(handler)(); }
    Handler handler;
  };

  asio::any_io_executor executor_;
  std::unique_ptr<HeldBase> handler_;
  bool notified_ = false;
};

}  // namespace

class HttpServer::Impl {
 public:
  struct Worker;
  class Connection;

  Impl(ServerOptions options, Handler entry, metrics::Registry& registry)
      : options_(std::move(options)), entry_(std::move(entry)), metrics_(registry.prometheus()) {}

  Status start();
  void stop();
  uint16_t port() const { return port_; }
  size_t connections() const { return state_->active.load(); }

  const ServerOptions& options() const { return options_; }
  bool draining() const { return state_->draining.load(std::memory_order_relaxed); }
  const Handler& entry() const { return entry_; }
  ServerMetrics& metrics() { return metrics_; }

  // What a connection may touch after the server is gone: a Responder kept
  // by a handler can outlive the server (see Connection::deliver).
  struct SharedState {
    std::atomic<bool> draining{false};
    std::atomic<bool> stopped{false};
    std::atomic<size_t> active{0};
  };

 private:
  awaitable<void> accept_loop();
  awaitable<void> sweep_deadlines(std::shared_ptr<Worker> worker);

  const ServerOptions options_;
  const Handler entry_;
  ServerMetrics metrics_;
  std::shared_ptr<SharedState> state_ = std::make_shared<SharedState>();

  std::vector<std::shared_ptr<Worker>> workers_;
  std::unique_ptr<tcp::acceptor> acceptor_;           // lives on workers_[0]
  std::unique_ptr<asio::steady_timer> accept_pause_;  // on workers_[0]: waits after a failed accept
  uint16_t port_ = 0;
  bool running_ = false;
  size_t next_worker_ = 0;  // used by accept_loop only
};

struct HttpServer::Impl::Worker {
  // Connections of this worker; touched only on its thread. Declared before
  // ioc so that it outlives the coroutine frames the ioc destroys.
  std::list<std::weak_ptr<Connection>> connections;

  // The live connections, as a copy: acting on one may end it (a wake-up
  // resumes its coroutine inline), which erases it from `connections`.
  std::vector<std::shared_ptr<Connection>> snapshot() const {
    std::vector<std::shared_ptr<Connection>> out;
    out.reserve(connections.size());
    for (const auto& weak : connections) {
      if (auto c = weak.lock()) out.push_back(std::move(c));
    }
    return out;
  }

  asio::io_context ioc{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  asio::steady_timer sweep_timer{ioc};  // cancelled by stop() so the worker ends at once
  std::thread thread;
};

// One client connection: reads requests, hands them to the entry handler,
// writes responses, and may turn into an SSE stream.
//
// Timeouts (idle, read, write) are deadlines that the worker's sweeper checks
// a few times per shortest timeout; arming one is a store, not a timer
// operation, which keeps the per-request cost down.
class HttpServer::Impl::Connection : public ResponseSink,
                                     public std::enable_shared_from_this<Connection> {
 public:
  enum class Phase { kIdle, kReading, kHandling, kWriting, kStreaming };

  Connection(Impl& server, std::shared_ptr<Worker> worker, tcp::socket socket)
      : server_(server),
        shared_(server.state_),
        worker_(std::move(worker)),
        socket_(std::move(socket)),
        wakeup_(socket_.get_executor()) {
    shared_->active.fetch_add(1);
    beast::error_code ec;
    const auto endpoint = socket_.remote_endpoint(ec);
    if (!ec) remote_address_ = endpoint.address().to_string();
  }
  ~Connection() override { shared_->active.fetch_sub(1); }

  awaitable<void> run();

  // On the worker thread: cancels what is in progress if its deadline
  // passed; wakes an idle stream whose heartbeat is due.
  void check_deadline(SteadyClock::time_point now) {
    if (phase_ == Phase::kStreaming && now >= next_heartbeat_ && deadline_ == kNever) {
      heartbeat_due_ = true;
      wakeup_.notify();
    }
    if (now < deadline_) return;
    deadline_ = SteadyClock::time_point::max();
    timed_out_ = true;
    beast::error_code ignored;
    socket_.cancel(ignored);
  }

  // On the worker thread, at shutdown.
  void drain() {
    if (phase_ == Phase::kIdle) {
      beast::error_code ignored;
      socket_.cancel(ignored);
    } else if (phase_ == Phase::kStreaming) {
      wakeup_.notify();
    }
  }
  void force_close() {
    abandoned_ = true;
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    wakeup_.notify();
  }

  void deliver(Response response, SendHooks hooks) override {
    auto accept = [self = shared_from_this(), r = std::move(response),
                   hooks = std::move(hooks)]() mutable {
      if (!self->awaiting_response_) return;  // gave up on this request (shutdown)
      self->awaiting_response_ = false;
      run_send_hooks(hooks, r);
      self->pending_ = std::move(r);
      self->wakeup_.notify();
    };
    if (std::this_thread::get_id() == thread_id_ && dispatching_) {
      accept();  // answered synchronously: no hop needed
      return;
    }
    if (shared_->stopped.load()) return;  // the server is gone; so is the client
    asio::post(socket_.get_executor(), std::move(accept));
  }

  void deliver_stream(Response head, SendHooks hooks, SseHub& hub, std::string topic,
                      uint64_t last_event_id) override {
    auto start = [self = shared_from_this(), head = std::move(head), hooks = std::move(hooks), &hub,
                  topic = std::move(topic), last_event_id]() mutable {
      if (!self->awaiting_response_) return;
      self->awaiting_response_ = false;
      run_send_hooks(hooks, head);
      self->stream_head_ = std::move(head);
      self->hub_ = &hub;
      self->topic_ = std::move(topic);
      self->last_event_id_ = last_event_id;
      self->wakeup_.notify();
    };
    if (std::this_thread::get_id() == thread_id_ && dispatching_) {
      start();
    } else if (!shared_->stopped.load()) {
      asio::post(socket_.get_executor(), std::move(start));
    }
  }

 private:
  void arm(std::chrono::milliseconds timeout) {
    timed_out_ = false;
    deadline_ = SteadyClock::now() + timeout;
  }
  void disarm() { deadline_ = kNever; }
  static constexpr SteadyClock::time_point kNever = SteadyClock::time_point::max();

  template <typename Buffers>
  awaitable<bool> write_all(const Buffers& buffers) {
    beast::error_code ec;
    arm(server_.options().write_timeout);
    co_await asio::async_write(socket_, buffers, asio::redirect_error(use_awaitable, ec));
    disarm();
    co_return !ec;
  }

  awaitable<bool> write_problem(int status, std::string_view detail);
  awaitable<bool> write_response(const Response& response, bool keep_alive, bool head_only);
  awaitable<void> stream_events();
  // The status and detail for a failed read, or 0 when the client just went away.
  std::pair<int, std::string> read_failure(const beast::error_code& ec) const;
  Request to_request(bhttp::request<bhttp::string_body>&& raw);

  Impl& server_;  // only used while the coroutine runs, i.e. while the server runs
  std::shared_ptr<SharedState> shared_;
  std::shared_ptr<Worker> worker_;  // keeps the io_context alive for late deliver() calls
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  Wakeup wakeup_;  // woken by deliver*(), SSE publishers, heartbeats and shutdown
  SteadyClock::time_point next_heartbeat_ = kNever;
  bool heartbeat_due_ = false;
  std::string remote_address_;
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();
  bool timed_out_ = false;
  // SSE only: the subscription, while streaming; whether a write the
  // client must drain is in flight; whether an overflow cut it.
  const SseSubscription* stream_subscription_ = nullptr;
  bool stream_write_pending_ = false;
  bool slow_consumer_ = false;
  Phase phase_ = Phase::kIdle;
  bool dispatching_ = false;
  bool awaiting_response_ = false;  // between dispatch and the handler's answer
  bool abandoned_ = false;          // force-closed at shutdown: stop waiting for the handler
  std::thread::id thread_id_;
  std::optional<Response> pending_;
  std::optional<Response> stream_head_;
  SseHub* hub_ = nullptr;
  std::string topic_;
  uint64_t last_event_id_ = 0;
};

std::pair<int, std::string> HttpServer::Impl::Connection::read_failure(
    const beast::error_code& ec) const {
  if (timed_out_) return parse_failure(beast::error::timeout, server_.options());
  if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
      ec == asio::error::connection_reset || ec == asio::error::eof) {
    return {0, ""};
  }
  return parse_failure(ec, server_.options());
}

Request HttpServer::Impl::Connection::to_request(bhttp::request<bhttp::string_body>&& raw) {
  Request request;
  request.method = parse_method(raw.method_string());
  request.set_target(std::string(raw.target()));
  for (const auto& field : raw) {
    request.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(raw.body());
  request.remote_address = remote_address_;
  return request;
}

awaitable<bool> HttpServer::Impl::Connection::write_response(const Response& response,
                                                             bool keep_alive, bool head_only) {
  std::string head = serialize_head(response, keep_alive);
  head += "Content-Length: ";
  head += std::to_string(response.body.size());
  head += "\r\n\r\n";
  if (head_only || response.body.empty()) co_return co_await write_all(asio::buffer(head));
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(response.body)};
  co_return co_await write_all(buffers);
}

awaitable<bool> HttpServer::Impl::Connection::write_problem(int status, std::string_view detail) {
  server_.metrics().malformed.Increment();
  co_return co_await write_response(problem(status, detail), false, false);
}

awaitable<void> HttpServer::Impl::Connection::run() {
  thread_id_ = std::this_thread::get_id();
  auto self = shared_from_this();
  worker_->connections.push_front(self);
  auto registration = worker_->connections.begin();
  struct Unregister {
    Worker& worker;
    std::list<std::weak_ptr<Connection>>::iterator it;
    ~Unregister() { worker.connections.erase(it); }
  } unregister{*worker_, registration};

  beast::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  const ServerOptions& options = server_.options();

  while (!server_.draining()) {
    // Wait for the next request, up to the idle timeout.
    phase_ = Phase::kIdle;
    beast::error_code ec;
    if (buffer_.size() == 0) {
      arm(options.idle_timeout);
      const size_t n = co_await socket_.async_read_some(buffer_.prepare(4096),
                                                        asio::redirect_error(use_awaitable, ec));
      if (ec) break;  // closed, idle too long, or drained
      buffer_.commit(n);
    }

    phase_ = Phase::kReading;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);
    arm(options.read_timeout);
    co_await bhttp::async_read_header(socket_, buffer_, parser,
                                      asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (auto [status, detail] = read_failure(ec); status != 0) {
        co_await write_problem(status, detail);
      }
      break;
    }
    const auto& header = parser.get();  // Beast accepts only HTTP/1.0 and HTTP/1.1
    if (header.version() == 11 && header.find(bhttp::field::host) == header.end()) {
      co_await write_problem(400, "an HTTP/1.1 request must have a Host header");
      break;
    }
    if (header.find(bhttp::field::transfer_encoding) != header.end() &&
        header.find(bhttp::field::content_length) != header.end()) {
      // RFC 9112 6.1: a request smuggling vector; refuse rather than guess.
      co_await write_problem(400,
                             "a request may not have both Content-Length and Transfer-Encoding");
      break;
    }
    if (const auto te = header.find(bhttp::field::transfer_encoding);
        te != header.end() && !iequals(te->value(), "chunked")) {
      // RFC 9112 6.3: without chunked last the length is unknowable; no other
      // coding is supported.
      co_await write_problem(400, "only 'Transfer-Encoding: chunked' is supported");
      break;
    }
    if (header.target().empty() || header.target()[0] != '/') {
      co_await write_problem(400, "the request target must be a path starting with '/'");
      break;
    }
    if (!parser.is_done()) {
      if (bhttp::token_list(header[bhttp::field::expect]).exists("100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        if (!co_await write_all(asio::buffer(kContinue))) break;
        arm(options.read_timeout);
      }
      co_await bhttp::async_read(socket_, buffer_, parser, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (auto [status, detail] = read_failure(ec); status != 0) {
          co_await write_problem(status, detail);
        }
        break;
      }
    }
    disarm();

    const bool keep_alive = parser.get().keep_alive();
    Request request = to_request(parser.release());
    request.received_at = SteadyClock::now();
    const bool head_only = request.method == Method::kHead;

    phase_ = Phase::kHandling;
    pending_.reset();
    awaiting_response_ = true;
    dispatching_ = true;
    try {
      server_.entry()(request, Responder(self));
    } catch (const std::exception& e) {
      log::error("handler for {} {} threw: {}", method_name(request.method), request.path,
                 e.what());
    }
    dispatching_ = false;
    while (!pending_ && !stream_head_ && !abandoned_) {
      co_await wakeup_.async_wait(use_awaitable);
    }
    awaiting_response_ = false;
    if (abandoned_) break;
    if (stream_head_) {
      co_await stream_events();
      break;
    }
    phase_ = Phase::kWriting;
    const bool again = keep_alive && !server_.draining();
    if (!co_await write_response(*pending_, again, head_only)) break;
    pending_.reset();
    if (!again) break;
  }

  disarm();
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  socket_.close(ignored);
}

awaitable<void> HttpServer::Impl::Connection::stream_events() {
  phase_ = Phase::kStreaming;
  buffer_ = beast::flat_buffer();  // no more requests on this connection: free the buffer
  std::string head = serialize_head(*stream_head_, true);
  head += "Transfer-Encoding: chunked\r\n\r\n";
  stream_head_.reset();
  if (!co_await write_all(asio::buffer(head))) co_return;

  SseHub& hub = *hub_;
  auto executor = socket_.get_executor();
  std::weak_ptr<Connection> weak = shared_from_this();
  auto subscription = hub.subscribe(topic_, last_event_id_, [executor, weak] {
    asio::post(executor, [weak] {
      auto self = weak.lock();
      if (!self) return;
      // A client that stopped reading leaves a write pending that would
      // only end at write_timeout: an overflow ends it now.
      if (self->stream_write_pending_ && self->stream_subscription_ != nullptr &&
          self->stream_subscription_->overflowed()) {
        self->slow_consumer_ = true;
        beast::error_code ignored;
        self->socket_.cancel(ignored);
      }
      self->wakeup_.notify();
    });
  });
  stream_subscription_ = subscription.get();
  const auto heartbeat = hub.options().heartbeat;
  next_heartbeat_ = SteadyClock::now() + heartbeat;
  beast::error_code ignored;
  socket_.non_blocking(true, ignored);
  topic_.clear();
  topic_.shrink_to_fit();

  std::vector<SseFrame> frames;
  std::vector<asio::const_buffer> buffers;
  char size_line[24];
  bool write_failed = false;
  while (!server_.draining()) {
    frames.clear();
    if (!subscription->take(frames)) {
      hub.count_slow_disconnect();
      break;
    }
    if (frames.empty()) {
      if (!heartbeat_due_) {
        co_await wakeup_.async_wait(use_awaitable);
        continue;  // data, a heartbeat, or shutdown
      }
      frames.push_back(SseHub::heartbeat_frame());
    }
    heartbeat_due_ = false;
    next_heartbeat_ = SteadyClock::now() + heartbeat;
    size_t total = 0;
    for (const auto& f : frames) total += f->size();
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", total);
    buffers.clear();
    buffers.emplace_back(size_line, static_cast<size_t>(n));
    for (const auto& f : frames) buffers.emplace_back(asio::buffer(*f));
    buffers.emplace_back(asio::buffer("\r\n", 2));
    // Usually the socket buffer has room: write at once, without a queue hop.
    beast::error_code ec;
    const size_t written = socket_.write_some(buffers, ec);
    const size_t want = static_cast<size_t>(n) + total + 2;
    if (!ec && written == want) continue;
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      write_failed = true;
      break;
    }
    auto rest = beast::buffers_suffix<std::vector<asio::const_buffer>>(buffers);
    rest.consume(written);
    stream_write_pending_ = true;
    const bool wrote = co_await write_all(rest);
    stream_write_pending_ = false;
    if (!wrote) {
      if (timed_out_ || slow_consumer_) hub.count_slow_disconnect();
      write_failed = true;
      break;
    }
  }
  stream_subscription_ = nullptr;
  hub.unsubscribe(subscription);
  if (!write_failed) co_await write_all(asio::buffer("0\r\n\r\n", 5));
}

awaitable<void> HttpServer::Impl::sweep_deadlines(std::shared_ptr<Worker> worker) {
  // A few sweeps per shortest timeout, between 10 and 250 ms apart.
  const auto shortest =
      std::min({options_.idle_timeout, options_.read_timeout, options_.write_timeout});
  const auto interval =
      std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
  asio::steady_timer& timer = worker->sweep_timer;
  while (!state_->stopped.load()) {
    timer.expires_after(interval);
    beast::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    const auto now = SteadyClock::now();
    for (const auto& c : worker->snapshot()) c->check_deadline(now);
  }
}

Status HttpServer::Impl::start() {
  if (options_.threads < 1) return fail(ErrorCode::kInvalidArgument, "threads must be >= 1");
  for (int i = 0; i < options_.threads; ++i) workers_.push_back(std::make_shared<Worker>());

  beast::error_code ec;
  const auto address = asio::ip::make_address(options_.host, ec);
  if (ec) {
    return fail(ErrorCode::kInvalidArgument, "cannot listen on '" + options_.host +
                                                 "': not an IP address (" + ec.message() + ")");
  }
  acceptor_ = std::make_unique<tcp::acceptor>(workers_[0]->ioc);
  accept_pause_ = std::make_unique<asio::steady_timer>(workers_[0]->ioc);
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(ErrorCode::kUnavailable, "cannot listen on " + options_.host + ":" +
                                             std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_->local_endpoint().port();

  asio::co_spawn(workers_[0]->ioc, accept_loop(), asio::detached);
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    asio::co_spawn(w->ioc, sweep_deadlines(workers_[i]), asio::detached);
    w->guard.emplace(w->ioc.get_executor());
    w->thread = std::thread([&ioc = w->ioc, i] {
      set_thread_name("http-" + std::to_string(i));
      ioc.run();
    });
  }
  running_ = true;
  return ok();
}

awaitable<void> HttpServer::Impl::accept_loop() {
  const auto busy = [] {
    Response r = problem(503, "the server has too many connections; retry later");
    r.headers.add("Retry-After", "1");
    return serialize_head(r, false) + "Content-Length: " + std::to_string(r.body.size()) +
           "\r\n\r\n" + r.body;
  };
  // After a failed accept the connection stays queued, so accepting again at
  // once fails again (out of file descriptors, EMFILE, until a connection
  // closes): the loop pauses, 5 ms doubling up to 1 s, and logs the first
  // failure of each run of them and its end.
  constexpr std::chrono::milliseconds kFirstPause{5};
  constexpr std::chrono::milliseconds kLongestPause{1000};
  std::chrono::milliseconds pause{0};
  uint64_t failures = 0;
  while (acceptor_->is_open()) {
    const std::shared_ptr<Worker>& worker = workers_[next_worker_];
    next_worker_ = (next_worker_ + 1) % workers_.size();
    beast::error_code ec;
    tcp::socket socket =
        co_await acceptor_->async_accept(worker->ioc, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
      metrics_.accept_failures.Increment();
      if (failures++ == 0) {
        log::warn("accept failed: {}; the server keeps serving its {} connections and retries",
                  ec.message(), state_->active.load());
      }
      pause = std::clamp(pause * 2, kFirstPause, kLongestPause);
      accept_pause_->expires_after(pause);
      co_await accept_pause_->async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    if (failures > 0) {
      log::info("accepting connections again, after {} failed accepts", failures);
      failures = 0;
      pause = std::chrono::milliseconds(0);
    }
    if (state_->active.load() >= options_.max_connections) {
      metrics_.rejected.Increment();
      beast::error_code ignored;
      asio::write(socket, asio::buffer(busy()), ignored);
      socket.close(ignored);
      continue;
    }
    auto connection = std::make_shared<Connection>(*this, worker, std::move(socket));
    asio::co_spawn(
        worker->ioc, [connection]() -> awaitable<void> { co_await connection->run(); },
        asio::detached);
  }
}

void HttpServer::Impl::stop() {
  if (!running_) return;
  running_ = false;
  state_->draining.store(true);
  asio::post(workers_[0]->ioc, [this] {
    beast::error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
    if (accept_pause_) accept_pause_->cancel();
  });
  for (auto& w : workers_) {
    asio::post(w->ioc, [&w = *w] {
      for (const auto& c : w.snapshot()) c->drain();
    });
  }
  const auto deadline = SteadyClock::now() + options_.shutdown_grace;
  while (state_->active.load() > 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& w : workers_) {
    asio::post(w->ioc, [&w = *w] {
      for (const auto& c : w.snapshot()) c->force_close();
    });
    w->guard.reset();
  }
  const auto hard_deadline = SteadyClock::now() + std::chrono::seconds(1);
  while (state_->active.load() > 0 && SteadyClock::now() < hard_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  state_->stopped.store(true);
  for (auto& w : workers_) {
    w->ioc.stop();
    if (w->thread.joinable()) w->thread.join();
  }
  beast::error_code ignored;
  acceptor_->close(ignored);
  // Let every coroutine see its closed socket and end, so no frame (and no
  // connection it holds) outlives the server.
  if (accept_pause_) accept_pause_->cancel();
  for (auto& w : workers_) {
    w->sweep_timer.cancel();
    w->ioc.restart();
    w->ioc.run_for(std::chrono::milliseconds(500));
  }
  acceptor_.reset();
}

HttpServer::HttpServer(ServerOptions options, Handler entry, metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(entry), registry)) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() { return impl_->start(); }
uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::stop() { impl_->stop(); }
size_t HttpServer::connection_count() const { return impl_->connections(); }

}  // namespace seatflow::http
