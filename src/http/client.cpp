#include "http/client.hpp"

#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "http/client_wire.hpp"
#include "trace/propagation.hpp"
#include "trace/span.hpp"

namespace seatflow::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using SteadyClock = std::chrono::steady_clock;

namespace {

bool retryable_status(int status) { return status == 502 || status == 503 || status == 504; }

// Retry-After in seconds, if present and numeric.
std::optional<std::chrono::milliseconds> retry_after(const Headers& headers) {
  auto v = headers.get("Retry-After");
  if (!v || v->empty()) return std::nullopt;
  int seconds = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
    if (seconds > 3600) return std::nullopt;
  }
  return std::chrono::seconds(seconds);
}

// A request a failed attempt may be repeated for: idempotent by its method or
// by its Idempotency-Key.
bool may_repeat(const ClientRequest& request) {
  return is_idempotent(request.method) || request.headers.get("Idempotency-Key").has_value();
}

SteadyClock::time_point deadline_of(const ClientRequest& request, const ClientOptions& options) {
  return SteadyClock::now() +
         (request.deadline.count() > 0 ? request.deadline : options.default_deadline);
}

// The wait before the next attempt: full jitter over `backoff`, a server's
// Retry-After winning (the caller checks it fits in the deadline). `backoff`
// doubles, up to `cap`, for the attempt after.
std::chrono::milliseconds next_wait(std::chrono::milliseconds& backoff,
                                    std::chrono::milliseconds cap,
                                    const Result<ClientResponse>& answer, std::mt19937& rng) {
  auto wait =
      std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, backoff.count())(rng));
  if (answer) {
    if (auto hint = retry_after(answer->headers)) wait = *hint;
  }
  backoff = std::min(backoff * 2, cap);
  return wait;
}

}  // namespace

class HttpClient::Impl {
 public:
  // What a call to a local peer may still reach of the client: nothing
  // once the client is gone (its handler may answer later than that).
  struct Home {
    explicit Home(Impl* i) : impl(i) {}
    std::mutex mu;
    Impl* impl;  // guarded by mu; null once the client is being destroyed
  };
  struct LocalCall;
  class LocalSink;

  explicit Impl(ClientOptions options) : options_(options) {
    guard_.emplace(ioc_.get_executor());
    thread_ = std::thread([this] {
      set_thread_name("http-client");
      thread_id_ = std::this_thread::get_id();
      ioc_.run();
    });
  }

  ~Impl() {
    {
      std::lock_guard lock(home_->mu);
      home_->impl = nullptr;
    }
    stopping_ = true;
    asio::post(ioc_, [this] { pool_.clear(); });
    guard_.reset();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  void async_send(ClientRequest request, Callback callback) {
    if (hook_) hook_(request);
    if (tracer_ != nullptr) callback = trace_call(request, std::move(callback));
    if (has_local_.load(std::memory_order_acquire)) {
      if (auto target = parse_url(request.url)) {
        if (const Handler* entry = local_entry(target->key())) {
          return send_local(*entry, std::move(*target), std::move(request), std::move(callback));
        }
      }
    }
    asio::co_spawn(ioc_, run(std::move(request), std::move(callback)), asio::detached);
  }

  // Starts the call's CLIENT span on the caller's thread, puts its context in
  // the headers, and ends it when the callback runs.
  Callback trace_call(ClientRequest& request, Callback callback) const {
    const std::string method(method_name(request.method));
    auto span = std::make_shared<trace::Span>(
        tracer_->start_span(method, {.kind = trace::SpanKind::kClient}));
    if (span->recording()) {
      span->set_attribute("http.request.method", method);
      span->set_attribute("url.full", redact_target(request.url));
      if (auto target = parse_url(request.url)) {
        span->set_attribute("server.address", target->host);
        span->set_attribute("server.port", std::stoi(target->port));
      }
    }
    trace::HeaderList carrier;
    trace::inject(span->context(), carrier);
    request.headers.remove(trace::kTraceparentHeader);
    request.headers.remove(trace::kTracestateHeader);
    for (auto& [name, value] : carrier) request.headers.add(std::move(name), std::move(value));
    return [span, callback = std::move(callback)](Result<ClientResponse> result) {
      if (span->recording()) {
        if (result) {
          span->set_attribute("http.response.status_code", result->status);
          if (result->status >= 400) {
            span->set_attribute("error.type", std::to_string(result->status));
            span->set_status(trace::StatusCode::kError);
          }
        } else {
          span->set_attribute("error.type", std::string(error_code_name(result.error().code())));
          span->set_status(trace::StatusCode::kError, result.error().message());
        }
      }
      span->end();
      callback(std::move(result));
    };
  }

  bool on_client_thread() const { return std::this_thread::get_id() == thread_id_; }

  size_t idle() {
    std::promise<size_t> p;
    asio::post(ioc_, [&] {
      size_t n = 0;
      for (const auto& [k, v] : pool_) n += v.size();
      p.set_value(n);
    });
    return p.get_future().get();
  }

  std::function<void(ClientRequest&)> hook_;
  const trace::Tracer* tracer_ = nullptr;
  void serve_locally(std::string authority, Handler entry) {
    std::lock_guard lock(local_mu_);
    local_.emplace_back(std::move(authority), std::move(entry));
    has_local_.store(true, std::memory_order_release);
  }

  const Handler* local_entry(const std::string& authority) const {
    std::lock_guard lock(local_mu_);
    for (const auto& [name, entry] : local_) {
      if (name == authority) return &entry;
    }
    return nullptr;
  }

 private:
  struct Attempt {
    Result<ClientResponse> result = fail(ErrorCode::kUnknown, "not attempted");
    bool may_retry = false;  // the failure happened where a retry is safe for idempotent requests
  };

  awaitable<void> run(ClientRequest request, Callback callback);
  awaitable<Attempt> attempt(const Target& target, const ClientRequest& request,
                             SteadyClock::time_point deadline);

  // The in-process transport (serve_locally).
  void send_local(const Handler& entry, Target target, ClientRequest request, Callback callback);
  static void run_local_attempt(const std::shared_ptr<LocalCall>& call);
  // Takes attempt `attempt`'s result (-1: the deadline's, whichever attempt
  // is running): retries it, or completes the call, once.
  static void complete_local(const std::shared_ptr<LocalCall>& call, int attempt,
                             Result<ClientResponse> result);
  static awaitable<void> expire_local(std::weak_ptr<LocalCall> weak);
  static awaitable<void> retry_local(std::shared_ptr<LocalCall> call,
                                     std::chrono::milliseconds wait);

  const ClientOptions options_;
  const std::shared_ptr<Home> home_ = std::make_shared<Home>(this);
  // Peers served in this process: authority -> entry handler. Entries never
  // move once added (a call keeps a pointer to its handler).
  mutable std::mutex local_mu_;
  std::deque<std::pair<std::string, Handler>> local_;  // guarded by local_mu_
  std::atomic<bool> has_local_{false};
  asio::io_context ioc_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::thread::id thread_id_;
  std::atomic<bool> stopping_{false};
  std::map<std::string, std::vector<beast::tcp_stream>> pool_;  // client thread only
  std::mt19937 rng_{std::random_device{}()};                    // client thread only
};

awaitable<HttpClient::Impl::Attempt> HttpClient::Impl::attempt(const Target& target,
                                                               const ClientRequest& request,
                                                               SteadyClock::time_point deadline) {
  Attempt out;
  beast::error_code ec;
  std::optional<beast::tcp_stream> stream;
  auto& idle = pool_[target.key()];
  if (!idle.empty()) {
    stream.emplace(std::move(idle.back()));
    idle.pop_back();
  } else {
    tcp::resolver resolver(ioc_);
    auto endpoints = co_await resolver.async_resolve(target.host, target.port,
                                                     asio::redirect_error(use_awaitable, ec));
    if (ec) {
      out.result =
          fail(ErrorCode::kUnavailable, "cannot resolve " + target.host + ": " + ec.message());
      out.may_retry = true;
      co_return out;
    }
    stream.emplace(ioc_);
    stream->expires_at(deadline);
    co_await stream->async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      out.result = ec == beast::error::timeout
                       ? fail(ErrorCode::kDeadlineExceeded,
                              "deadline exceeded connecting to " + target.key())
                       : fail(ErrorCode::kUnavailable,
                              "cannot connect to " + target.key() + ": " + ec.message());
      out.may_retry = ec != beast::error::timeout;
      co_return out;
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
  }

  // The body is sent from the caller's request, which outlives the attempt:
  // a request of hundreds of kilobytes (an OTLP export) is not copied.
  const WireRequest req = wire_request(target, request);

  stream->expires_at(deadline);
  co_await bhttp::async_write(*stream, req, asio::redirect_error(use_awaitable, ec));
  beast::flat_buffer buffer;
  ResponseParser parser;
  expect_answer(parser, request.method, options_.max_response_bytes);
  if (!ec)
    co_await bhttp::async_read(*stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    if (ec == beast::error::timeout) {
      out.result = fail(too_late(target));
    } else if (ec == bhttp::error::body_limit) {
      out.result = fail(too_large(target, options_.max_response_bytes));
    } else {
      out.result = fail(broken(target, ec));
      out.may_retry = true;
    }
    co_return out;
  }

  const bool keep = parser.get().keep_alive();
  ClientResponse response = client_response(parser);
  if (keep && !stopping_ && idle.size() < options_.max_idle_per_host) {
    stream->expires_never();
    idle.push_back(std::move(*stream));
  }
  out.result = std::move(response);
  co_return out;
}

awaitable<void> HttpClient::Impl::run(ClientRequest request, Callback callback) {
  auto target = parse_url(request.url);
  if (!target) {
    callback(fail(target.error()));
    co_return;
  }
  const auto deadline = deadline_of(request, options_);
  const bool idempotent = may_repeat(request);

  std::chrono::milliseconds backoff = options_.backoff_initial;
  for (int attempt_no = 1;; ++attempt_no) {
    Attempt a = co_await attempt(*target, request, deadline);
    if (a.result) a.result->attempts = attempt_no;
    const bool failed_retryably =
        (!a.result && a.may_retry) || (a.result && retryable_status(a.result->status));
    if (!failed_retryably || !idempotent || attempt_no >= options_.max_attempts || stopping_) {
      callback(std::move(a.result));
      co_return;
    }
    const auto wait = next_wait(backoff, options_.backoff_max, a.result, rng_);
    if (SteadyClock::now() + wait >= deadline) {
      callback(std::move(a.result));
      co_return;
    }
    asio::steady_timer timer(ioc_, wait);
    beast::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

// One call to a peer served in this process, over all its attempts.
struct HttpClient::Impl::LocalCall {
  std::shared_ptr<Home> home;
  ClientOptions options;
  const Handler* entry = nullptr;
  Target target;
  ClientRequest request;
  Callback callback;
  SteadyClock::time_point deadline;
  bool idempotent = false;
  std::chrono::milliseconds backoff{0};

  std::mutex mu;
  int attempt = 0;       // guarded by mu: the latest attempt started
  int answered = 0;      // guarded by mu: the latest attempt answered
  bool done = false;     // guarded by mu: the callback has been called
  bool watched = false;  // guarded by mu: the deadline is being watched
};

// The handler's end of one attempt: the request it reads, and where its
// Responder sends the answer.
class HttpClient::Impl::LocalSink final : public ResponseSink {
 public:
  LocalSink(std::shared_ptr<LocalCall> call, int attempt, Request handed_over)
      : request(std::move(handed_over)), call_(std::move(call)), attempt_(attempt) {}

  void deliver(Response response, SendHooks hooks) override {
    run_send_hooks(hooks, response);
    complete_local(call_, attempt_,
                   ClientResponse{.status = response.status,
                                  .headers = std::move(response.headers),
                                  .body = std::move(response.body)});
  }

  void deliver_stream(Response head, SendHooks hooks, SseHub& /*hub*/, std::string /*topic*/,
                      uint64_t /*last_event_id*/) override {
    run_send_hooks(hooks, head);
    complete_local(call_, attempt_,
                   fail(ErrorCode::kUnimplemented,
                        "an event stream cannot be answered to an in-process call to " +
                            call_->target.key() + call_->target.path_and_query));
  }

  Request request;  // alive as long as the handler's Responder

 private:
  std::shared_ptr<LocalCall> call_;
  int attempt_;
};

void HttpClient::Impl::send_local(const Handler& entry, Target target, ClientRequest request,
                                  Callback callback) {
  auto call = std::make_shared<LocalCall>();
  call->home = home_;
  call->options = options_;
  call->entry = &entry;
  call->target = std::move(target);
  call->deadline = deadline_of(request, options_);
  call->idempotent = may_repeat(request);
  call->backoff = options_.backoff_initial;
  call->request = std::move(request);
  call->callback = std::move(callback);
  run_local_attempt(call);
}

void HttpClient::Impl::run_local_attempt(const std::shared_ptr<LocalCall>& call) {
  int attempt = 0;
  {
    std::lock_guard lock(call->mu);
    if (call->done) return;
    attempt = ++call->attempt;
  }
  // The request as the server would hand it over (the router decodes the path).
  Request request;
  request.method = call->request.method;
  request.set_target(call->target.path_and_query);
  request.headers = call->request.headers;
  if (!request.headers.get("Host")) request.headers.add("Host", call->target.key());
  request.body = call->request.body;  // kept for a retry
  request.received_at = SteadyClock::now();

  auto sink = std::make_shared<LocalSink>(call, attempt, std::move(request));
  try {
    (*call->entry)(sink->request, Responder(sink));
  } catch (const std::exception& e) {
    // The Responder is gone with the stack: the call has its 500.
    log::error("handler for in-process {} {} threw: {}", method_name(sink->request.method),
               sink->request.path, e.what());
  }

  // Not answered yet: the deadline now matters, and is kept on the client's thread.
  bool watch = false;
  {
    std::lock_guard lock(call->mu);
    if (!call->done && call->answered < attempt && !call->watched) watch = call->watched = true;
  }
  if (!watch) return;
  std::lock_guard lock(call->home->mu);
  if (call->home->impl != nullptr) {
    asio::co_spawn(call->home->impl->ioc_, expire_local(call), asio::detached);
  }
}

void HttpClient::Impl::complete_local(const std::shared_ptr<LocalCall>& call, int attempt,
                                      Result<ClientResponse> result) {
  Callback callback;
  {
    std::lock_guard lock(call->mu);
    if (call->done || (attempt >= 0 && attempt != call->attempt)) return;
    if (attempt >= 0) call->answered = attempt;
    if (result) {
      result->attempts = call->attempt;
      if (call->request.method == Method::kHead) result->body.clear();
      if (result->body.size() > call->options.max_response_bytes) {
        result = fail(too_large(call->target, call->options.max_response_bytes));
      }
    }
    if (attempt >= 0 && result && retryable_status(result->status) && call->idempotent &&
        attempt < call->options.max_attempts) {
      thread_local std::mt19937 random(std::random_device{}());
      const auto wait = next_wait(call->backoff, call->options.backoff_max, result, random);
      if (SteadyClock::now() + wait < call->deadline) {
        std::lock_guard home(call->home->mu);
        if (call->home->impl != nullptr) {
          asio::co_spawn(call->home->impl->ioc_, retry_local(call, wait), asio::detached);
          return;
        }
      }
    }
    call->done = true;
    callback = std::move(call->callback);
  }
  callback(std::move(result));
}

awaitable<void> HttpClient::Impl::expire_local(std::weak_ptr<LocalCall> weak) {
  SteadyClock::time_point deadline;
  if (auto call = weak.lock()) {
    deadline = call->deadline;
  } else {
    co_return;
  }
  // Holds no reference meanwhile: a call answered in time is freed at once.
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  beast::error_code ec;
  co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  if (auto call = weak.lock()) {
    complete_local(call, -1, fail(too_late(call->target)));
  }
}

awaitable<void> HttpClient::Impl::retry_local(std::shared_ptr<LocalCall> call,
                                              std::chrono::milliseconds wait) {
  asio::steady_timer timer(co_await asio::this_coro::executor, wait);
  beast::error_code ec;
  co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  run_local_attempt(call);
}

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>(options)) {}
HttpClient::~HttpClient() = default;

void HttpClient::set_header_hook(std::function<void(ClientRequest&)> hook) {
  impl_->hook_ = std::move(hook);
}

void HttpClient::set_tracer(const trace::Tracer* tracer) { impl_->tracer_ = tracer; }

void HttpClient::serve_locally(std::string authority, Handler entry) {
  impl_->serve_locally(std::move(authority), std::move(entry));
}

void HttpClient::async_send(ClientRequest request, Callback callback) {
  impl_->async_send(std::move(request), std::move(callback));
}

Result<ClientResponse> HttpClient::send(ClientRequest request) {
  if (impl_->on_client_thread()) {
    return fail(ErrorCode::kFailedPrecondition,
                "HttpClient::send() would block the client's own thread; use async_send()");
  }
  std::promise<Result<ClientResponse>> promise;
  auto future = promise.get_future();
  impl_->async_send(std::move(request),
                    [&promise](Result<ClientResponse> r) { promise.set_value(std::move(r)); });
  return future.get();
}

size_t HttpClient::idle_connections() const { return impl_->idle(); }

}  // namespace seatflow::http
