// HTTP messages as handlers see them, independent of Beast.
//
// Request and Response are plain values. Header names compare
// case-insensitively. Errors leave a service as RFC 9457
// `application/problem+json` bodies built by problem() / problem_for().
//
// Thread safety: values; a Request belongs to the handler it was passed to.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"
#include "core/text.hpp"

namespace seatflow::http {

enum class Method { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kOther };

std::string_view method_name(Method method);
Method parse_method(std::string_view name);

// Idempotent by RFC 9110: GET, HEAD, PUT, DELETE, OPTIONS.
bool is_idempotent(Method method);

struct Header {
  std::string name;
  std::string value;
};

class Headers {
 public:
  // The first value of `name`, if present.
  std::optional<std::string_view> get(std::string_view name) const;
  // Every value of `name`, in order.
  std::vector<std::string_view> get_all(std::string_view name) const;
  void add(std::string name, std::string value);
  // Replaces every value of `name` with one.
  void set(std::string name, std::string value);
  void remove(std::string_view name);

  std::vector<Header>::const_iterator begin() const { return list_.begin(); }
  std::vector<Header>::const_iterator end() const { return list_.end(); }
  size_t size() const { return list_.size(); }

 private:
  std::vector<Header> list_;
};

struct Request {
  Method method = Method::kGet;
  std::string target;  // as received: path and query
  std::string path;    // percent-decoded path, without the query
  std::string query;   // raw query string, without '?'
  Headers headers;
  std::string body;
  std::string remote_address;
  // When the server had read the whole request: where the metrics, the
  // access log and the server span start measuring, so that they share one
  // reading of the clock. Unset in a request made up elsewhere; middleware
  // then reads the clock itself (see received_at()).
  std::chrono::steady_clock::time_point received_at{};

  // Filled by the router.
  // The matched template, "/api/orders/{id}", or "unmatched". Points into the
  // Router, which outlives every request.
  std::string_view route = "unmatched";
  std::vector<std::pair<std::string, std::string>> path_params;

  // Sets the target as received and splits it into path and query.
  void set_target(std::string received);
  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  // REQUIRES: the route template has {name}.
  std::string_view param(std::string_view name) const;
  // The first value of a query parameter, percent-decoded.
  std::optional<std::string> query_param(std::string_view name) const;
};

// request.received_at, or now when it was not set.
inline std::chrono::steady_clock::time_point received_at(const Request& request) {
  return request.received_at != std::chrono::steady_clock::time_point{}
             ? request.received_at
             : std::chrono::steady_clock::now();
}

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // When the response was handed over to be sent; run_send_hooks() sets it
  // for the hooks, which all measure to it.
  std::chrono::steady_clock::time_point answered_at{};

  static Response text(int status, std::string body, std::string content_type = "text/plain");
  static Response json(int status, std::string body);
  static Response empty(int status);
};

// An RFC 9457 problem: {"type":"about:blank","title":<reason>,"status":..,"detail":..}.
Response problem(int status, std::string_view detail);

// The HTTP status for a canonical error code, and a problem response for an Error.
int status_for(ErrorCode code);
Response problem_for(const Error& error);

// "Not Found" for 404, ...
std::string_view reason_phrase(int status);

// The HTTP date of RFC 9110 (IMF-fixdate): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(std::chrono::sys_seconds time);

// A query string, or a request target or URL with one, fit for a log line or a
// span: the values of parameters that carry a credential (`access_token`,
// which an EventSource sends its bearer token in, and the signatures that
// OpenTelemetry's semantic conventions name) read "REDACTED".
std::string redact_query(std::string_view query);
std::string redact_target(std::string_view target);

// Percent-decodes `in`; nullopt on a malformed escape or a decoded NUL.
// With `plus_as_space`, '+' decodes to ' ' (query strings).
std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space = false);

}  // namespace seatflow::http
