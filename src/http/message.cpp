#include "http/message.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include "core/text.hpp"

namespace seatflow::http {
std::string_view method_name(Method method) {
  switch (method) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kDelete: return "DELETE";
    case Method::kPatch: return "PATCH";
    case Method::kOptions: return "OPTIONS";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

Method parse_method(std::string_view name) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kDelete,
                   Method::kPatch, Method::kOptions}) {
    if (name == method_name(m)) return m;
  }
  return Method::kOther;
}

bool is_idempotent(Method method) {
  return method == Method::kGet || method == Method::kHead || method == Method::kPut ||
         method == Method::kDelete || method == Method::kOptions;
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& h : list_) {
    if (iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& h : list_) {
    if (iequals(h.name, name)) out.emplace_back(h.value);
  }
  return out;
}

void Headers::add(std::string name, std::string value) {
  list_.push_back({std::move(name), std::move(value)});
}

void Headers::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void Headers::remove(std::string_view name) {
  std::erase_if(list_, [&](const Header& h) { return iequals(h.name, name); });
}

void Request::set_target(std::string received) {
  target = std::move(received);
  const size_t q = target.find('?');
  path = target.substr(0, q);
  query = q == std::string::npos ? std::string() : target.substr(q + 1);
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  return {};
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const size_t eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    if (key && *key == name) {
      if (eq == std::string_view::npos) return std::string();
      return percent_decode(pair.substr(eq + 1), true);
    }
  }
  return std::nullopt;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.add("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Response Response::json(int status, std::string body) {
  return text(status, std::move(body), "application/json");
}

Response Response::empty(int status) {
  Response r;
  r.status = status;
  return r;
}

Response problem(int status, std::string_view detail) {
  std::string body = R"({"type":"about:blank","title":)";
  append_json_string(body, reason_phrase(status));
  body += ",\"status\":";
  body += std::to_string(status);
  body += ",\"detail\":";
  append_json_string(body, detail);
  body += '}';
  return Response::text(status, std::move(body), "application/problem+json");
}

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kOutOfRange: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
    case ErrorCode::kAborted: return 409;
    case ErrorCode::kFailedPrecondition: return 422;
    case ErrorCode::kResourceExhausted: return 429;
    case ErrorCode::kCancelled: return 499;
    case ErrorCode::kUnimplemented: return 501;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kDeadlineExceeded: return 504;
    case ErrorCode::kUnknown:
    case ErrorCode::kInternal:
    case ErrorCode::kDataLoss: return 500;
  }
  return 500;
}

Response problem_for(const Error& error) {
  const int status = status_for(error.code());
  // Internal details stay in the log; the client learns only that it failed.
  if (status >= 500 && status != 503 && status != 504) {
    return problem(status, "the server failed to handle the request");
  }
  return problem(status, error.message());
}

std::string redact_query(std::string_view query) {
  static constexpr std::array<std::string_view, 5> kSecrets = {
      "access_token", "AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature"};
  std::string out;
  out.reserve(query.size());
  while (true) {
    const size_t end = std::min(query.find('&'), query.size());
    const std::string_view pair = query.substr(0, end);
    const size_t equals = pair.find('=');
    const std::string_view key = pair.substr(0, equals);
    if (equals != std::string_view::npos &&
        std::find(kSecrets.begin(), kSecrets.end(), key) != kSecrets.end()) {
      out.append(key).append("=REDACTED");
    } else {
      out.append(pair);
    }
    if (end == query.size()) break;
    out += '&';
    query.remove_prefix(end + 1);
  }
  return out;
}

std::string redact_target(std::string_view target) {
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return std::string(target);
  return std::string(target.substr(0, question + 1)) + redact_query(target.substr(question + 1));
}

std::string format_http_date(std::chrono::sys_seconds time) {
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                            "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss clock{time - day};
  const std::chrono::weekday weekday{day};
  std::array<char, 32> out{};
  const int n = std::snprintf(
      out.data(), out.size(), "%.3s, %02u %.3s %04d %02d:%02d:%02d GMT",
      kDays[weekday.c_encoding()].data(), static_cast<unsigned>(date.day()),
      kMonths[static_cast<unsigned>(date.month()) - 1].data(), static_cast<int>(date.year()),
      static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
      static_cast<int>(clock.seconds().count()));
  return {out.data(), static_cast<size_t>(std::max(n, 0))};
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_digit_value(in[i + 1]);
      const int lo = hex_digit_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi << 4 | lo);
      i += 2;
      if (c == '\0') return std::nullopt;
    } else if (c == '+' && plus_as_space) {
      c = ' ';
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace seatflow::http
