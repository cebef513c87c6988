// What both HTTP clients (HttpClient, BlockingClient) put on the wire and
// take off it with Beast, so that they send the same request and read the
// same response: where a URL points, the request message, a parser set up for its answer, the
// parsed answer as a ClientResponse, and the errors for an answer too large
// or too late and for a connection that broke.
// Internal to src/http.
//
// Thread safety: functions on values.
#pragma once

#include <cstddef>
#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include "core/status.hpp"
#include "http/client.hpp"

namespace seatflow::http {

// An http:// URL split into what a connection and a request line need.
struct Target {
  std::string host;
  std::string port;
  std::string path_and_query;
  std::string key() const { return host + ":" + port; }  // "host:port"
};

// Errors: kInvalidArgument (not a URL, not http://, no host).
Result<Target> parse_url(const std::string& url);

using WireRequest = boost::beast::http::request<boost::beast::http::span_body<const char>>;
using ResponseParser = boost::beast::http::response_parser<boost::beast::http::string_body>;

// The request as HTTP/1.1 with keep-alive, its body viewed in `request`
// (which must outlive the message), not copied: an OTLP export is hundreds
// of kilobytes.
WireRequest wire_request(const Target& target, const ClientRequest& request);

// Limits the answer to `max_response_bytes`, and expects none for HEAD.
void expect_answer(ResponseParser& parser, Method method, size_t max_response_bytes);

// The parsed answer; its body is moved out of the parser.
ClientResponse client_response(ResponseParser& parser);

// kResourceExhausted: the answer from `target` is over `max_response_bytes`.
Error too_large(const Target& target, size_t max_response_bytes);

// kDeadlineExceeded: no (whole) answer from `target` within the deadline.
Error too_late(const Target& target);

// kUnavailable: the connection to `target` broke during the request.
Error broken(const Target& target, const boost::system::error_code& ec);

}  // namespace seatflow::http
