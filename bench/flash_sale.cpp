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
// The generator shares the machine with the server, so it is kept cheap:
// each buyer thread has its own blocking keep-alive connection, and a SOLD
// event wakes only the thread waiting for that seat.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/core.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "http/client.hpp"

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using seatflow::http::ClientRequest;
using seatflow::http::ClientResponse;
using seatflow::http::HttpClient;
using seatflow::http::Method;

namespace {

struct Shared {
  std::mutex mu;
  std::unordered_map<std::string, Clock::time_point> sold;  // seat -> when SOLD arrived
  std::set<std::string> taken;                              // seats seen HELD or SOLD
  // The buyer waiting for each seat to turn SOLD: only that buyer's thread is
  // woken, not all of them on every event (which cost the generator more CPU
  // than the purchase cost the server).
  std::unordered_map<std::string, std::condition_variable*> waiting;
};

// How long each step of a purchase took, to tell where a slow run waits.
struct StepTimes {
  enum Step { kSession, kSeatMap, kHold, kOrder, kCount };
  static constexpr const char* kNames[kCount] = {"session", "seat_map", "hold", "order"};

  std::mutex mu;
  std::vector<double> ms[kCount];
  std::atomic<int> conflicts{0};

  void add(Step step, Clock::time_point since) {
    const double d = std::chrono::duration<double, std::milli>(Clock::now() - since).count();
    std::lock_guard lock(mu);
    ms[step].push_back(d);
  }
};

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1,
                         static_cast<size_t>(p * static_cast<double>(values.size())))];
}

// Reads the event's seat stream on a plain socket and records SOLD seats.
void read_stream(const std::string& host, int port, const std::string& path, Shared& shared,
                 std::atomic<bool>& stop) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect to the seat stream");
    std::exit(1);
  }
  timeval tv{.tv_sec = 0, .tv_usec = 200'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nAccept: text/event-stream\r\n\r\n";
  if (write(fd, request.data(), request.size()) < 0) std::exit(1);
  // The response head, then the body: chunked through a gateway, whose chunks
  // need not end where events do, so they are decoded before lines are cut.
  std::string raw;   // bytes as read
  std::string body;  // decoded body not yet cut into lines
  bool in_body = false;
  bool chunked = false;
  size_t chunk_left = 0;  // bytes left in the current chunk
  char chunk[65536];
  auto handle_line = [&](const std::string& line) {
    if (line.rfind("data: ", 0) != 0) return;
    json::error_code ec;
    const json::value v = json::parse(line.substr(6), ec);
    if (ec || !v.is_object()) return;
    const auto& o = v.get_object();
    const auto* state = o.if_contains("state");
    const auto* seats = o.if_contains("seats");
    if (state == nullptr || seats == nullptr || !seats->is_array()) return;
    const auto now = Clock::now();
    std::lock_guard lock(shared.mu);
    for (const auto& s : seats->get_array()) {
      const std::string seat(s.get_string());
      if (state->get_string() == "SOLD") {
        shared.sold.emplace(seat, now);
        if (const auto w = shared.waiting.find(seat); w != shared.waiting.end()) {
          w->second->notify_one();
        }
      }
      if (state->get_string() != "AVAILABLE") {
        shared.taken.insert(seat);
      } else {
        shared.taken.erase(seat);
      }
    }
  };
  while (!stop.load()) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n == 0) {
      std::fprintf(stderr, "the seat stream ended\n");
      break;
    }
    if (n < 0) continue;  // timeout: check stop
    raw.append(chunk, static_cast<size_t>(n));
    if (!in_body) {
      const size_t end = raw.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      std::string head = raw.substr(0, end);
      std::transform(head.begin(), head.end(), head.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      chunked = head.find("transfer-encoding: chunked") != std::string::npos;
      raw.erase(0, end + 4);
      in_body = true;
    }
    if (!chunked) {
      body += raw;
      raw.clear();
    }
    while (chunked && !raw.empty()) {
      if (chunk_left == 0) {
        const size_t eol = raw.find("\r\n");
        if (eol == std::string::npos) break;
        if (eol == 0) {  // the CRLF that ends a chunk's data
          raw.erase(0, 2);
          continue;
        }
        chunk_left = std::stoul(raw.substr(0, eol), nullptr, 16);
        raw.erase(0, eol + 2);
        if (chunk_left == 0) break;  // the last chunk
        continue;
      }
      const size_t take = std::min(chunk_left, raw.size());
      body.append(raw, 0, take);
      raw.erase(0, take);
      chunk_left -= take;
    }
    size_t line_end = 0;
    while ((line_end = body.find('\n')) != std::string::npos) {
      handle_line(body.substr(0, line_end));
      body.erase(0, line_end + 1);
    }
  }
  close(fd);
}

// One buyer thread's keep-alive HTTP/1.1 connection, used blocking: write
// the request, read the answer. A thread of its own per buyer is how a
// browser behaves; sharing the asynchronous client's I/O thread cost two
// thread hand-offs per request, which took CPU from the server under test.
class BuyerConnection {
 public:
  BuyerConnection(std::string host, int port) : host_(std::move(host)), port_(port) {}
  ~BuyerConnection() { close_socket(); }
  BuyerConnection(const BuyerConnection&) = delete;
  BuyerConnection& operator=(const BuyerConnection&) = delete;

  seatflow::Result<ClientResponse> send(std::string_view method, const std::string& path,
                                        const std::string& token, const std::string& body,
                                        const std::string& key = "") {
    std::string request = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
                                      method, path, host_, body.size());
    if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
    if (!body.empty()) request += "Content-Type: application/json\r\n";
    if (!key.empty()) request += "Idempotency-Key: " + key + "\r\n";
    request += "\r\n";
    request += body;
    if (fd_ < 0 && !open_socket()) return failure("connect");
    if (!write_all(request)) return failure("write");
    return read_response();
  }

 private:
  static seatflow::Error error(std::string_view what) {
    return seatflow::Error(seatflow::ErrorCode::kUnavailable,
                           fmt::format("{}: {}", what, std::strerror(errno)));
  }
  tl::unexpected<seatflow::Error> failure(std::string_view what) {
    close_socket();
    return tl::unexpected(error(what));
  }

  bool open_socket() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  void close_socket() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    buffer_.clear();
  }
  bool write_all(std::string_view data) const {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until the buffer holds at least `size` bytes.
  bool fill(size_t size) {
    char chunk[65536];
    while (buffer_.size() < size) {
      const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
    return true;
  }
  // Reads up to and including the next CRLF, which it drops.
  bool line(std::string& out) {
    size_t eol;
    while ((eol = buffer_.find("\r\n")) == std::string::npos) {
      if (!fill(buffer_.size() + 1)) return false;
    }
    out.assign(buffer_, 0, eol);
    buffer_.erase(0, eol + 2);
    return true;
  }

  seatflow::Result<ClientResponse> read_response() {
    ClientResponse response;
    std::string head;
    if (!line(head) || head.size() < 12) return failure("read the status line");
    response.status = std::atoi(head.c_str() + 9);
    size_t length = 0;
    bool chunked = false;
    bool closes = false;
    for (std::string header; line(header) && !header.empty();) {
      std::transform(header.begin(), header.end(), header.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (header.starts_with("content-length:")) length = std::stoul(header.substr(15));
      if (header.starts_with("transfer-encoding:") && header.find("chunked") != std::string::npos) {
        chunked = true;
      }
      if (header.starts_with("connection:") && header.find("close") != std::string::npos) {
        closes = true;
      }
    }
    if (!chunked) {
      if (!fill(length)) return failure("read the body");
      response.body.assign(buffer_, 0, length);
      buffer_.erase(0, length);
    }
    for (std::string size_line; chunked;) {
      if (!line(size_line)) return failure("read a chunk size");
      const size_t size = std::stoul(size_line, nullptr, 16);
      if (!fill(size + 2)) return failure("read a chunk");
      response.body.append(buffer_, 0, size);
      buffer_.erase(0, size + 2);
      if (size == 0) break;
    }
    if (closes) close_socket();
    return response;
  }

  const std::string host_;
  const int port_;
  int fd_ = -1;
  std::string buffer_;  // read, not yet consumed
};

struct Outcome {
  bool bought = false;
  double latency_ms = 0;
  std::string order_id;
  std::string token;
  std::string seat;
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
  const std::string host = "127.0.0.1";
  const int port = std::atoi(base.substr(base.rfind(':') + 1).c_str());

  HttpClient client(seatflow::http::ClientOptions{.max_idle_per_host = 1024});
  auto call = [&](Method method, const std::string& path, const std::string& token,
                  const std::string& body, const std::string& key = "") {
    ClientRequest r{.method = method,
                    .url = base + path,
                    .headers = {},
                    .body = body,
                    .deadline = std::chrono::milliseconds(30000)};
    if (!token.empty()) r.headers.set("Authorization", "Bearer " + token);
    if (!body.empty()) r.headers.set("Content-Type", "application/json");
    if (!key.empty()) r.headers.set("Idempotency-Key", key);
    return client.send(std::move(r));
  };

  // The seat ids, from the seat map.
  auto map = call(Method::kGet, "/api/events/" + event + "/seats", "", "");
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

  Shared shared;
  std::atomic<bool> stop{false};
  std::thread stream(read_stream, host, port, "/api/events/" + event + "/seats/stream",
                     std::ref(shared), std::ref(stop));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  StepTimes steps;
  std::vector<Outcome> outcomes(static_cast<size_t>(buyers));
  std::atomic<int> next{0};
  std::atomic<int> errors{0};
  // Counts an error and shows the first few, so a failing run says why.
  auto failed = [&](const char* step, const auto& response) {
    if (errors++ >= 5) return;
    if (!response) {
      std::fprintf(stderr, "%s: %s\n", step, response.error().message().c_str());
    } else {
      std::fprintf(stderr, "%s: %d %s\n", step, response->status, response->body.c_str());
    }
  };
  const auto started = Clock::now();
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(concurrency));
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 random(static_cast<uint64_t>(t) * 7919 + 1);
      std::condition_variable sold_cv;  // this buyer's seat turned SOLD
      BuyerConnection http(host, port);
      for (int b = next++; b < buyers; b = next++) {
        Outcome& out = outcomes[static_cast<size_t>(b)];
        auto began = Clock::now();
        auto session = http.send("POST", "/api/session", "", "");
        steps.add(StepTimes::kSession, began);
        if (!session || session->status != 201) {
          failed("session", session);
          continue;
        }
        out.token = std::string(json::parse(session->body).at("token").as_string());
        began = Clock::now();
        auto seat_map = http.send("GET", "/api/events/" + event + "/seats", "", "");
        steps.add(StepTimes::kSeatMap, began);
        if (!seat_map || seat_map->status != 200) {
          failed("seat map", seat_map);
          continue;
        }
        std::string hold_id;
        for (int attempt = 0; attempt < 50 && hold_id.empty(); ++attempt) {
          std::vector<std::string> free;
          {
            std::lock_guard lock(shared.mu);
            if (shared.taken.size() >= seats.size()) break;
            for (int probe = 0; probe < 64 && free.empty(); ++probe) {
              const auto& s = seats[random() % seats.size()];
              if (!shared.taken.contains(s)) free.push_back(s);
            }
          }
          if (free.empty()) continue;
          began = Clock::now();
          auto hold = http.send("POST", "/api/events/" + event + "/holds", out.token,
                                R"({"seats":[")" + free[0] + "\"]}");
          steps.add(StepTimes::kHold, began);
          if (!hold) {
            failed("hold", hold);
            break;
          }
          if (hold->status == 409) {
            ++steps.conflicts;
            std::lock_guard lock(shared.mu);
            shared.taken.insert(free[0]);
            continue;
          }
          if (hold->status != 201) {
            failed("hold", hold);
            break;
          }
          hold_id = std::string(json::parse(hold->body).at("id").as_string());
          out.seat = free[0];
        }
        if (hold_id.empty()) continue;  // sold out
        began = Clock::now();
        auto order =
            http.send("POST", "/api/orders", out.token,
                      R"({"hold_id":")" + hold_id + R"(","card_number":"4242424242424242"})",
                      "flash-" + std::to_string(b));
        steps.add(StepTimes::kOrder, began);
        if (!order || order->status != 202) {
          failed("order", order);
          continue;
        }
        const auto placed = Clock::now();
        out.order_id = std::string(json::parse(order->body).at("id").as_string());
        std::unique_lock lock(shared.mu);
        shared.waiting[out.seat] = &sold_cv;
        const bool sold = sold_cv.wait_for(lock, std::chrono::seconds(30),
                                           [&] { return shared.sold.contains(out.seat); });
        shared.waiting.erase(out.seat);
        if (sold) {
          out.bought = true;
          out.latency_ms =
              std::chrono::duration<double, std::milli>(shared.sold[out.seat] - placed).count();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  stop = true;
  stream.join();

  // Invariants, from the service's own answers.
  std::vector<double> latencies;
  std::map<std::string, int> sold_to;
  int completed = 0;
  int non_terminal = 0;
  int cancelled_with_held_seat = 0;
  int sold_unseen = 0;  // completed, but SOLD never came on the stream in time
  for (const auto& o : outcomes) {
    if (o.order_id.empty()) continue;
    auto order = call(Method::kGet, "/api/orders/" + o.order_id, o.token, "");
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
          call(Method::kGet, "/api/holds/" + std::string(v.at("hold_id").as_string()), o.token, "");
      if (hold && hold->body.find("\"ACTIVE\"") != std::string::npos) ++cancelled_with_held_seat;
    } else {
      ++non_terminal;
    }
  }
  auto final_map = call(Method::kGet, "/api/events/" + event + "/seats", "", "");
  const std::string states(json::parse(final_map->body).at("states").as_string());
  const auto sold_seats = std::count(states.begin(), states.end(), 'S');
  const bool sold_twice =
      std::any_of(sold_to.begin(), sold_to.end(), [](const auto& kv) { return kv.second > 1; });
  const bool invariants = !sold_twice && non_terminal == 0 && cancelled_with_held_seat == 0 &&
                          sold_seats == static_cast<long>(sold_to.size());
  fmt::print("buyers={} seats={} completed={} errors={} seconds={:.2f}\n", buyers, seats.size(),
             completed, errors.load(), seconds);
  for (int step = 0; step < StepTimes::kCount; ++step) {
    fmt::print("{}_p50_ms={:.1f} {}_p99_ms={:.1f}{}", StepTimes::kNames[step],
               percentile(steps.ms[step], 0.50), StepTimes::kNames[step],
               percentile(steps.ms[step], 0.99), step + 1 < StepTimes::kCount ? " " : "\n");
  }
  fmt::print("hold_conflicts={} sold_unseen={}\n", steps.conflicts.load(), sold_unseen);
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
