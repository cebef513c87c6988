// The SSE benchmark's load: opens N streams, measures the server's memory per
// connection (its resident set before and after, from /proc), publishes one
// event stamped with the monotonic clock, and measures when each stream
// receives it.
//
// Usage: sse_load PORT SERVER_PID CONNECTIONS
// Prints sse_kib_per_conn=<KiB> and sse_p99_ms=<ms> (last line).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

struct State {
  int connections = 0;
  int open = 0;  // streams whose response head arrived
  int failed = 0;
  int in_flight = 0;  // connects not yet answered
  std::vector<int64_t> latencies_ns;
};

awaitable<void> stream(tcp::endpoint server, State& state) {
  tcp::socket socket(co_await asio::this_coro::executor);
  boost::system::error_code ec;
  co_await socket.async_connect(server, asio::redirect_error(use_awaitable, ec));
  const std::string request =
      "GET /events/bench HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n";
  if (!ec)
    co_await asio::async_write(socket, asio::buffer(request),
                               asio::redirect_error(use_awaitable, ec));
  std::string data;
  char chunk[2048];
  bool head = false;
  while (!ec) {
    const size_t n = co_await socket.async_read_some(asio::buffer(chunk),
                                                     asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    data.append(chunk, n);
    if (!head && data.find("\r\n\r\n") != std::string::npos) {
      head = true;
      ++state.open;
      --state.in_flight;
    }
    const size_t at = data.find("data: ");
    if (at != std::string::npos) {
      const size_t end = data.find('\n', at);
      if (end == std::string::npos) continue;
      const int64_t sent = std::stoll(data.substr(at + 6, end - at - 6));
      state.latencies_ns.push_back(now_ns() - sent);
      data.clear();
      data.shrink_to_fit();
      break;  // one event is all we wait for; keep the socket open
    }
    if (data.size() > 4096) data.erase(0, data.size() - 64);
  }
  if (ec) {
    ++state.failed;
    if (!head) --state.in_flight;
    co_return;
  }
  // Hold the connection until the run ends.
  asio::steady_timer hold(socket.get_executor(), std::chrono::hours(1));
  co_await hold.async_wait(asio::redirect_error(use_awaitable, ec));
}

bool publish(const tcp::endpoint& server, const std::string& body) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(server, ec);
  if (ec) return false;
  const std::string request =
      "POST /publish/bench HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n"
      "Content-Type: text/plain\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  asio::write(socket, asio::buffer(request), ec);
  std::string response;
  char buf[512];
  for (;;) {
    const size_t n = socket.read_some(asio::buffer(buf), ec);
    if (ec) break;
    response.append(buf, n);
  }
  return response.rfind("HTTP/1.1 200", 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: sse_load PORT SERVER_PID CONNECTIONS\n");
    return 2;
  }
  const auto port = static_cast<uint16_t>(std::stoi(argv[1]));
  const int pid = std::stoi(argv[2]);
  State state;
  state.connections = std::stoi(argv[3]);
  state.latencies_ns.reserve(static_cast<size_t>(state.connections));
  const tcp::endpoint server(asio::ip::make_address("127.0.0.1"), port);

  const long rss_before = rss_kib(pid);
  asio::io_context ioc(1);
  std::thread io([&] {
    auto guard = asio::make_work_guard(ioc);
    ioc.run();
  });

  // Open the streams, at most 256 handshakes at a time (the listen backlog).
  int started = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (started < state.connections && Clock::now() < deadline) {
    std::promise<void> step;
    asio::post(ioc, [&] {
      while (started < state.connections && state.in_flight < 256) {
        ++state.in_flight;
        ++started;
        asio::co_spawn(ioc, stream(server, state), asio::detached);
      }
      step.set_value();
    });
    step.get_future().wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  auto count = [&](auto field) {
    std::promise<int> p;
    asio::post(ioc, [&] { p.set_value(field()); });
    return p.get_future().get();
  };
  while (count([&] { return state.open + state.failed; }) < state.connections &&
         Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const int open = count([&] { return state.open; });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the server settle
  const long rss_after = rss_kib(pid);
  const double kib_per_conn = open > 0 ? static_cast<double>(rss_after - rss_before) / open : 0;
  std::printf("streams_open=%d failed=%d\n", open, count([&] { return state.failed; }));
  std::printf("server_rss_kib before=%ld after=%ld\n", rss_before, rss_after);

  if (!publish(server, std::to_string(now_ns()))) {
    std::fprintf(stderr, "sse_load: publish failed\n");
    return 1;
  }
  const auto wait_until = Clock::now() + std::chrono::seconds(30);
  while (count([&] { return static_cast<int>(state.latencies_ns.size()); }) < open &&
         Clock::now() < wait_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::vector<int64_t> latencies;
  {
    std::promise<void> p;
    asio::post(ioc, [&] {
      latencies = state.latencies_ns;
      p.set_value();
    });
    p.get_future().wait();
  }
  ioc.stop();
  io.join();

  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double q) {
    if (latencies.empty()) return 0.0;
    const auto n = static_cast<double>(latencies.size());
    const size_t i = std::min(latencies.size() - 1, static_cast<size_t>(q * n));
    return static_cast<double>(latencies[i]) / 1e6;
  };
  std::printf("delivered=%zu of %d\n", latencies.size(), open);
  std::printf("sse_p50_ms=%.2f sse_max_ms=%.2f\n", pct(0.5), pct(1.0));
  std::printf("sse_kib_per_conn=%.2f\n", kib_per_conn);
  std::printf("sse_p99_ms=%.2f\n", pct(0.99));
  return latencies.size() == static_cast<size_t>(open) && open == state.connections ? 0 : 1;
}
