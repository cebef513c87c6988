// A deliberately simple blocking HTTP client over raw POSIX sockets, for
// tests that must send exactly the bytes they mean (malformed requests,
// partial requests, slow readers) and see exactly what comes back.
//
// Thread safety: one RawConnection per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace seatflow::http::testing {

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;  // decoded (chunked bodies are de-chunked)
  bool keep_alive = true;
  std::optional<std::string> header(std::string_view name) const;
};

class RawConnection {
 public:
  explicit RawConnection(uint16_t port, int receive_buffer_bytes = 0);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Const: they act on the socket, not on this object's state.
  bool send(std::string_view bytes) const;
  void shutdown_write() const;

  // Reads one response (Content-Length or chunked, or to close). nullopt on
  // timeout or when the peer closed before a full response.
  std::optional<RawResponse> read_response(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  // Reads whatever arrives until `needle` is seen, the peer closes, or timeout.
  std::string read_until(std::string_view needle, std::chrono::milliseconds timeout);

  // True if the peer closed the connection within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout);

  // Bytes received but not yet consumed by read_response().
  std::string& pending() { return buffer_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// One request on a fresh connection: "GET /path", with Host and Connection: close.
std::optional<RawResponse> get(uint16_t port, std::string_view path);

}  // namespace seatflow::http::testing
