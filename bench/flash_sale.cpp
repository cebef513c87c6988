// Flash-sale load generator: N buyers race for the seats of one event through
// Seatflow's public API, as browsers would: a session, the seat map, a hold,
// an order, and the outcome seen on the event's SSE stream of seat changes.
// Then it checks the invariants and prints the figures.
//
// Usage: flash_sale <base url> <event id> <buyers> <concurrency>
//
// Each buyer takes one seat: it picks a random seat not yet seen taken,
// holds it (another on 409), orders it with the approving test card, and
// waits for SOLD on the stream. Latency is measured from the order's
// 202 Accepted to the SOLD event. Last line: purchases_per_s=<n>.
//
// The generator shares the machine with the server, so it is kept cheap: one
// thread drives every buyer's keep-alive connection and the seat stream
// through epoll, as wrk does. A thread per buyer, blocked on its socket, cost
// a thread switch per request, a quarter of the machine's CPU in a sale
// (mostly the switches themselves), which the server under test then lacked.
// For the same reason it runs under SCHED_BATCH, as `seatflow up` does by
// default (process.cpu_scheduling): woken by a response, it waits for the
// server's running thread to finish its turn instead of preempting it, as
// buyers on machines of their own would.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/core.h>
#include <boost/json/parse.hpp>

#include "http/client.hpp"

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using seatflow::http::ClientRequest;
using seatflow::http::HttpClient;
using seatflow::http::Method;

namespace {

constexpr auto kWaitForSold = std::chrono::seconds(30);
constexpr auto kRequestDeadline = std::chrono::seconds(30);
constexpr int kHoldAttempts = 50;

// How long each step of a purchase took, to tell where a slow run waits.
struct StepTimes {
  enum Step { kSession, kSeatMap, kHold, kOrder, kCount };
  static constexpr const char* kNames[kCount] = {"session", "seat_map", "hold", "order"};

  std::vector<double> ms[kCount];
  int conflicts = 0;

  void add(Step step, Clock::time_point since, Clock::time_point now) {
    ms[step].push_back(std::chrono::duration<double, std::milli>(now - since).count());
  }
};

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1,
                         static_cast<size_t>(p * static_cast<double>(values.size())))];
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

bool contains_nocase(std::string_view s, std::string_view word) {
  for (size_t i = 0; i + word.size() <= s.size(); ++i) {
    if (starts_with_nocase(s.substr(i), word)) return true;
  }
  return false;
}

// A chunked body's decoding, fed as bytes arrive: chunks need not end where
// anything inside them does (a gateway cuts them where it likes).
class ChunkedDecoder {
 public:
  // Moves what `raw` holds of the body into `body`, leaving in `raw` what is
  // not yet decodable. True once the last chunk has been read.
  bool decode(std::string& raw, std::string& body) {
    size_t at = 0;
    bool done = false;
    while (at < raw.size() && !done) {
      if (left_ == 0) {
        const size_t eol = raw.find("\r\n", at);
        if (eol == std::string::npos) break;
        if (eol == at) {  // the CRLF that ends a chunk's data
          at += 2;
          continue;
        }
        left_ = std::strtoul(raw.c_str() + at, nullptr, 16);
        at = eol + 2;
        if (left_ == 0) done = true;  // the last chunk (no trailers are sent)
        continue;
      }
      const size_t take = std::min(left_, raw.size() - at);
      body.append(raw, at, take);
      at += take;
      left_ -= take;
    }
    raw.erase(0, at);
    if (done) {
      raw.erase(0, std::min<size_t>(2, raw.size()));  // the empty trailer's CRLF
      left_ = 0;
    }
    return done;
  }

 private:
  size_t left_ = 0;  // bytes left in the current chunk
};

// The string field `name` of a JSON object body, or nothing.
std::optional<std::string> string_field(std::string_view body, std::string_view name) {
  json::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* field = v.get_object().if_contains(name);
  if (field == nullptr || !field->is_string()) return std::nullopt;
  return std::string(field->get_string());
}

struct Response {
  int status = 0;
  std::string body;
  bool closes = false;
};

// Reads HTTP/1.1 responses off bytes as they arrive.
class ResponseReader {
 public:
  // Takes the next whole response out of `in`, if `in` holds one.
  std::optional<Response> next(std::string& in) {
    if (!have_head_) {
      const size_t end = in.find("\r\n\r\n");
      if (end == std::string::npos) return std::nullopt;
      const std::string_view head(in.data(), end);
      current_ = {};
      current_.status = head.size() > 12 ? std::atoi(head.data() + 9) : 0;
      length_ = 0;
      chunked_ = false;
      for (size_t line = head.find("\r\n"); line != std::string_view::npos;) {
        const size_t next_line = head.find("\r\n", line + 2);
        const std::string_view header = head.substr(line + 2, next_line - line - 2);
        if (starts_with_nocase(header, "content-length:")) {
          length_ = std::strtoul(header.data() + 15, nullptr, 10);
        } else if (starts_with_nocase(header, "transfer-encoding:")) {
          chunked_ = contains_nocase(header, "chunked");
        } else if (starts_with_nocase(header, "connection:")) {
          current_.closes = contains_nocase(header, "close");
        }
        line = next_line;
      }
      in.erase(0, end + 4);
      have_head_ = true;
    }
    if (chunked_) {
      if (!chunks_.decode(in, current_.body)) return std::nullopt;
    } else {
      if (in.size() < length_) return std::nullopt;
      current_.body.assign(in, 0, length_);
      in.erase(0, length_);
    }
    have_head_ = false;
    return std::move(current_);
  }

 private:
  bool have_head_ = false;
  bool chunked_ = false;
  size_t length_ = 0;
  ChunkedDecoder chunks_;
  Response current_;
};

struct Outcome {
  bool bought = false;
  double latency_ms = 0;
  std::string order_id;
  std::string token;
  std::string seat;
};

// The whole sale on one thread: every buyer connection and the seat stream.
class Sale {
 public:
  Sale(std::string host, int port, std::string event, std::vector<std::string> seats, int buyers)
      : host_(std::move(host)),
        port_(port),
        event_(std::move(event)),
        seats_(std::move(seats)),
        outcomes_(static_cast<size_t>(buyers)),
        epoll_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~Sale() {
    for (auto& c : connections_) close_socket(c);
    if (stream_fd_ >= 0) close(stream_fd_);
    close(epoll_);
  }
  Sale(const Sale&) = delete;
  Sale& operator=(const Sale&) = delete;

  // Opens the seat stream; false if it cannot.
  bool open_stream() {
    stream_fd_ = connect_socket();
    if (stream_fd_ < 0) return false;
    const std::string request = fmt::format(
        "GET /api/events/{}/seats/stream HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        event_, host_);
    if (::send(stream_fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      return false;
    }
    watch(stream_fd_, kStreamTag, EPOLLIN);
    return true;
  }

  // Runs `concurrency` buyers at a time until every buyer is done.
  void run(int concurrency) {
    connections_.resize(static_cast<size_t>(concurrency));
    active_ = concurrency;
    for (size_t i = 0; i < connections_.size(); ++i) {
      connections_[i].index = i;
      next_buyer(connections_[i]);
    }
    std::vector<epoll_event> events(static_cast<size_t>(concurrency) + 1);
    auto next_sweep = Clock::now() + std::chrono::milliseconds(100);
    while (active_ > 0) {
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 100);
      const auto now = Clock::now();
      for (int i = 0; i < n; ++i) {
        const uint64_t tag = events[static_cast<size_t>(i)].data.u64;
        if (tag == kStreamTag) {
          read_stream(now);
        } else {
          on_ready(connections_[tag], events[static_cast<size_t>(i)].events, now);
        }
      }
      if (now >= next_sweep) {
        sweep(now);
        next_sweep = now + std::chrono::milliseconds(100);
      }
    }
  }

  std::vector<Outcome>& outcomes() { return outcomes_; }
  StepTimes& steps() { return steps_; }
  int errors() const { return errors_; }

 private:
  static constexpr uint64_t kStreamTag = ~uint64_t{0};
  enum class Step { kSession, kSeatMap, kHold, kOrder, kWaitSold, kDone };

  struct Connection {
    size_t index = 0;
    int fd = -1;
    int buyer = -1;
    Step step = Step::kDone;
    std::string in;   // received, not yet read as a response
    std::string out;  // the request, not yet all sent
    size_t sent = 0;
    bool wants_out = false;  // EPOLLOUT is on
    ResponseReader reader;
    Clock::time_point began;     // the request's
    Clock::time_point deadline;  // of the request, or of the wait for SOLD
    Clock::time_point placed;    // the order's 202
    int hold_attempts = 0;
    std::string hold_id;
  };

  int connect_socket() const {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Connecting blocks (on loopback, not for long); everything after does not.
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

  void watch(int fd, uint64_t tag, uint32_t events) const {
    epoll_event e{};
    e.events = events;
    e.data.u64 = tag;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &e);
  }
  void set_events(Connection& c, bool want_out) const {
    if (c.wants_out == want_out) return;
    epoll_event e{};
    e.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
    e.data.u64 = c.index;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &e);
    c.wants_out = want_out;
  }
  static void close_socket(Connection& c) {
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
    c.wants_out = false;
    c.in.clear();
    c.reader = {};
  }

  void failed(Connection& c, const char* step, const std::string& why) {
    if (errors_++ < 5) std::fprintf(stderr, "%s: %s\n", step, why.c_str());
    close_socket(c);  // its state is unknown: the next buyer gets a new connection
    next_buyer(c);
  }

  void send(Connection& c, Step step, std::string_view method, const std::string& path,
            const std::string& body, const std::string& key = "") {
    const Outcome& out = outcomes_[static_cast<size_t>(c.buyer)];
    c.out = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n", method, path, host_,
                        body.size());
    if (!out.token.empty()) c.out += "Authorization: Bearer " + out.token + "\r\n";
    if (!body.empty()) c.out += "Content-Type: application/json\r\n";
    if (!key.empty()) c.out += "Idempotency-Key: " + key + "\r\n";
    c.out += "\r\n";
    c.out += body;
    c.sent = 0;
    c.step = step;
    c.began = Clock::now();
    c.deadline = c.began + kRequestDeadline;
    if (c.fd < 0) {
      c.fd = connect_socket();
      if (c.fd < 0) {
        std::fprintf(stderr, "cannot connect to the server: %s\n", std::strerror(errno));
        std::exit(1);
      }
      watch(c.fd, c.index, EPOLLIN);
    }
    flush(c);
  }

  void flush(Connection& c) {
    while (c.sent < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        set_events(c, true);
        return;
      }
      if (n <= 0) {
        failed(c, "write", std::strerror(errno));
        return;
      }
      c.sent += static_cast<size_t>(n);
    }
    set_events(c, false);
  }

  // The connection goes on to the next buyer, or is done when none is left.
  void next_buyer(Connection& c) {
    c.buyer = next_ < static_cast<int>(outcomes_.size()) ? next_++ : -1;
    c.hold_attempts = 0;
    c.hold_id.clear();
    if (c.buyer < 0) {
      c.step = Step::kDone;
      close_socket(c);
      --active_;
      return;
    }
    send(c, Step::kSession, "POST", "/api/session", "");
  }

  void on_ready(Connection& c, uint32_t events, Clock::time_point now) {
    if (c.fd < 0) return;
    if ((events & EPOLLOUT) != 0) flush(c);
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0 || c.fd < 0) return;
    char chunk[65536];
    for (;;) {
      const ssize_t n = recv(c.fd, chunk, sizeof chunk, 0);
      if (n > 0) {
        c.in.append(chunk, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof chunk) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (c.step == Step::kWaitSold) {  // idle, waiting for SOLD: the next buyer reconnects
        close_socket(c);
        return;
      }
      failed(c, "read", n == 0 ? "the server closed the connection" : std::strerror(errno));
      return;
    }
    while (c.fd >= 0 && c.step != Step::kWaitSold && c.step != Step::kDone) {
      auto response = c.reader.next(c.in);
      if (!response) break;
      if (response->closes) close_socket(c);
      on_response(c, *response, now);
    }
  }

  void on_response(Connection& c, const Response& response, Clock::time_point now) {
    Outcome& out = outcomes_[static_cast<size_t>(c.buyer)];
    const auto unexpected = [&](const char* step) {
      failed(c, step, fmt::format("{} {}", response.status, response.body));
    };
    // Takes the string field `name` of an answer of `status` into `into`;
    // anything else fails the step.
    const auto take = [&](int status, std::string_view name, std::string& into, const char* step) {
      auto value = response.status == status ? string_field(response.body, name) : std::nullopt;
      if (!value) {
        unexpected(step);
        return false;
      }
      into = std::move(*value);
      return true;
    };
    switch (c.step) {
      case Step::kSession:
        steps_.add(StepTimes::kSession, c.began, now);
        if (!take(201, "token", out.token, "session")) return;
        send(c, Step::kSeatMap, "GET", "/api/events/" + event_ + "/seats", "");
        return;
      case Step::kSeatMap:
        steps_.add(StepTimes::kSeatMap, c.began, now);
        if (response.status != 200) return unexpected("seat map");
        try_hold(c);
        return;
      case Step::kHold:
        steps_.add(StepTimes::kHold, c.began, now);
        if (response.status == 409) {
          ++steps_.conflicts;
          taken_.insert(out.seat);
          out.seat.clear();
          try_hold(c);
          return;
        }
        if (!take(201, "id", c.hold_id, "hold")) return;
        send(c, Step::kOrder, "POST", "/api/orders",
             R"({"hold_id":")" + c.hold_id + R"(","card_number":"4242424242424242"})",
             "flash-" + std::to_string(c.buyer));
        return;
      case Step::kOrder:
        steps_.add(StepTimes::kOrder, c.began, now);
        if (!take(202, "id", out.order_id, "order")) return;
        c.placed = now;
        if (const auto s = sold_.find(out.seat); s != sold_.end()) {
          bought(c, s->second);
          return;
        }
        c.step = Step::kWaitSold;
        c.deadline = now + kWaitForSold;
        waiting_[out.seat] = c.index;
        return;
      case Step::kWaitSold:
      case Step::kDone: return;
    }
  }

  // Holds a random seat not yet seen taken; the buyer gives up when every
  // seat is taken or after kHoldAttempts tries.
  void try_hold(Connection& c) {
    Outcome& out = outcomes_[static_cast<size_t>(c.buyer)];
    while (c.hold_attempts++ < kHoldAttempts && taken_.size() < seats_.size()) {
      for (int probe = 0; probe < 64; ++probe) {
        const std::string& seat = seats_[random_() % seats_.size()];
        if (taken_.contains(seat)) continue;
        out.seat = seat;
        send(c, Step::kHold, "POST", "/api/events/" + event_ + "/holds",
             R"({"seats":[")" + seat + "\"]}");
        return;
      }
    }
    next_buyer(c);  // sold out
  }

  void bought(Connection& c, Clock::time_point sold_at) {
    Outcome& out = outcomes_[static_cast<size_t>(c.buyer)];
    out.bought = true;
    out.latency_ms = std::chrono::duration<double, std::milli>(sold_at - c.placed).count();
    next_buyer(c);
  }

  // Gives up on requests and waits past their deadlines.
  void sweep(Clock::time_point now) {
    for (auto& c : connections_) {
      if (c.step == Step::kDone || now < c.deadline) continue;
      if (c.step == Step::kWaitSold) {
        waiting_.erase(outcomes_[static_cast<size_t>(c.buyer)].seat);
        next_buyer(c);  // not bought: the checks below find out why
      } else {
        failed(c, "request", "no answer within the deadline");
      }
    }
  }

  // Reads the seat stream: records SOLD seats and the seats taken.
  void read_stream(Clock::time_point now) {
    char chunk[65536];
    for (;;) {
      const ssize_t n = recv(stream_fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        stream_raw_.append(chunk, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof chunk) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      std::fprintf(stderr, "the seat stream ended\n");
      epoll_ctl(epoll_, EPOLL_CTL_DEL, stream_fd_, nullptr);
      return;
    }
    if (!stream_in_body_) {
      const size_t end = stream_raw_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      stream_chunked_ =
          contains_nocase(std::string_view(stream_raw_.data(), end), "transfer-encoding: chunked");
      stream_raw_.erase(0, end + 4);
      stream_in_body_ = true;
    }
    if (stream_chunked_) {
      stream_chunks_.decode(stream_raw_, stream_body_);
    } else {
      stream_body_ += stream_raw_;
      stream_raw_.clear();
    }
    size_t at = 0;
    for (size_t eol; (eol = stream_body_.find('\n', at)) != std::string::npos; at = eol + 1) {
      stream_line(std::string_view(stream_body_).substr(at, eol - at), now);
    }
    stream_body_.erase(0, at);
  }

  void stream_line(std::string_view line, Clock::time_point now) {
    if (!line.starts_with("data: ")) return;
    json::error_code ec;
    const json::value v = json::parse(line.substr(6), ec);
    if (ec || !v.is_object()) return;
    const auto& o = v.get_object();
    const auto* state = o.if_contains("state");
    const auto* seats = o.if_contains("seats");
    if (state == nullptr || !state->is_string() || seats == nullptr || !seats->is_array()) return;
    const std::string_view s = state->get_string();
    for (const auto& item : seats->get_array()) {
      if (!item.is_string()) continue;
      std::string seat(item.get_string());
      if (s == "AVAILABLE") {
        taken_.erase(seat);
        continue;
      }
      taken_.insert(seat);
      if (s != "SOLD") continue;
      sold_.emplace(seat, now);
      if (const auto w = waiting_.find(seat); w != waiting_.end()) {
        Connection& c = connections_[w->second];
        waiting_.erase(w);
        bought(c, now);
      }
    }
  }

  const std::string host_;
  const int port_;
  const std::string event_;
  const std::vector<std::string> seats_;
  std::vector<Outcome> outcomes_;
  const int epoll_;
  std::vector<Connection> connections_;
  int next_ = 0;    // the next buyer to start
  int active_ = 0;  // connections not yet done
  int errors_ = 0;
  StepTimes steps_;
  std::mt19937_64 random_{7919};
  std::unordered_set<std::string> taken_;                    // seats seen HELD or SOLD
  std::unordered_map<std::string, Clock::time_point> sold_;  // seat -> when SOLD arrived
  std::unordered_map<std::string, size_t> waiting_;          // seat -> connection waiting for it
  int stream_fd_ = -1;
  std::string stream_raw_;   // bytes as read
  std::string stream_body_;  // decoded, not yet cut into lines
  bool stream_in_body_ = false;
  bool stream_chunked_ = false;
  ChunkedDecoder stream_chunks_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: flash_sale <base url> <event id> <buyers> <concurrency>\n");
    return 2;
  }
  const std::string base = argv[1];
  const std::string event = argv[2];
  const int buyers = std::atoi(argv[3]);
  const int concurrency = std::atoi(argv[4]);
  if (buyers < 1 || concurrency < 1) {
    std::fprintf(stderr, "flash_sale: buyers and concurrency must be at least 1\n");
    return 2;
  }
  const std::string host = "127.0.0.1";
  const int port = std::atoi(base.substr(base.rfind(':') + 1).c_str());
  sched_param batch{};
  if (::sched_setscheduler(0, SCHED_BATCH, &batch) != 0) {
    std::fprintf(stderr, "flash_sale: cannot run under SCHED_BATCH: %s\n", std::strerror(errno));
  }

  // The checks before and after the sale go through the project's client.
  HttpClient client(seatflow::http::ClientOptions{.max_idle_per_host = 64});
  auto call = [&](Method method, const std::string& path, const std::string& token) {
    ClientRequest r{.method = method,
                    .url = base + path,
                    .headers = {},
                    .body = {},
                    .deadline = std::chrono::milliseconds(30000)};
    if (!token.empty()) r.headers.set("Authorization", "Bearer " + token);
    return client.send(std::move(r));
  };

  // The seat ids, from the seat map.
  auto map = call(Method::kGet, "/api/events/" + event + "/seats", "");
  if (!map || map->status != 200) {
    std::fprintf(stderr, "cannot read the seat map\n");
    return 1;
  }
  std::vector<std::string> seats;
  const json::value layout = json::parse(map->body);
  for (const auto& section : layout.at("sections").as_array()) {
    for (const auto& row : section.at("rows").as_array()) {
      for (int64_t i = 0; i < row.at("count").as_int64(); ++i) {
        seats.push_back(fmt::format("{}-{}-{}", std::string(section.at("name").as_string()),
                                    std::string(row.at("label").as_string()),
                                    row.at("first").as_int64() + i));
      }
    }
  }

  Sale sale(host, port, event, seats, buyers);
  if (!sale.open_stream()) {
    std::fprintf(stderr, "cannot open the seat stream\n");
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto started = Clock::now();
  sale.run(concurrency);
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

  // Invariants, from the service's own answers.
  int errors = sale.errors();
  std::vector<double> latencies;
  std::map<std::string, int> sold_to;
  int completed = 0;
  int non_terminal = 0;
  int cancelled_with_held_seat = 0;
  int sold_unseen = 0;  // completed, but SOLD never came on the stream in time
  for (const auto& o : sale.outcomes()) {
    if (o.order_id.empty()) continue;
    auto order = call(Method::kGet, "/api/orders/" + o.order_id, o.token);
    if (!order || order->status != 200) {
      ++errors;
      continue;
    }
    const json::value v = json::parse(order->body);
    const std::string status(v.at("status").as_string());
    if (status == "COMPLETED") {
      ++completed;
      for (const auto& s : v.at("seats").as_array()) ++sold_to[std::string(s.as_string())];
      if (o.bought) {
        latencies.push_back(o.latency_ms);
      } else {
        ++sold_unseen;
      }
    } else if (status == "CANCELLED") {
      auto hold =
          call(Method::kGet, "/api/holds/" + std::string(v.at("hold_id").as_string()), o.token);
      if (hold && hold->body.find("\"ACTIVE\"") != std::string::npos) ++cancelled_with_held_seat;
    } else {
      ++non_terminal;
    }
  }
  auto final_map = call(Method::kGet, "/api/events/" + event + "/seats", "");
  if (!final_map || final_map->status != 200) {
    std::fprintf(stderr, "cannot read the seat map after the sale\n");
    return 1;
  }
  const std::string states(json::parse(final_map->body).at("states").as_string());
  const auto sold_seats = std::count(states.begin(), states.end(), 'S');
  const bool sold_twice =
      std::any_of(sold_to.begin(), sold_to.end(), [](const auto& kv) { return kv.second > 1; });
  const bool invariants = !sold_twice && non_terminal == 0 && cancelled_with_held_seat == 0 &&
                          sold_seats == static_cast<long>(sold_to.size());
  StepTimes& steps = sale.steps();
  fmt::print("buyers={} seats={} completed={} errors={} seconds={:.2f}\n", buyers, seats.size(),
             completed, errors, seconds);
  for (int step = 0; step < StepTimes::kCount; ++step) {
    fmt::print("{}_p50_ms={:.1f} {}_p99_ms={:.1f}{}", StepTimes::kNames[step],
               percentile(steps.ms[step], 0.50), StepTimes::kNames[step],
               percentile(steps.ms[step], 0.99), step + 1 < StepTimes::kCount ? " " : "\n");
  }
  fmt::print("hold_conflicts={} sold_unseen={}\n", steps.conflicts, sold_unseen);
  fmt::print("order_to_sold_p50_ms={:.1f} order_to_sold_p99_ms={:.1f}\n",
             percentile(latencies, 0.50), percentile(latencies, 0.99));
  fmt::print(
      "invariants={} (sold twice: {}, non-terminal orders: {}, cancelled orders still "
      "holding seats: {}, SOLD seats {} vs completed orders' seats {})\n",
      invariants ? "hold" : "BROKEN", sold_twice, non_terminal, cancelled_with_held_seat,
      sold_seats, sold_to.size());
  fmt::print("purchases_per_s={:.0f}\n", completed / seconds);
  return invariants ? 0 : 1;
}
