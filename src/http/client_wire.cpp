#include "http/client_wire.hpp"

#include <string>

#include <boost/url/parse.hpp>

namespace seatflow::http {

namespace bhttp = boost::beast::http;

Result<Target> parse_url(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return fail(ErrorCode::kInvalidArgument, "bad URL '" + url + "'");
  if (parsed->scheme() != "http") {
    return fail(ErrorCode::kInvalidArgument, "only http:// URLs are supported: '" + url + "'");
  }
  Target t;
  t.host = std::string(parsed->host());
  t.port = parsed->has_port() ? std::string(parsed->port()) : "80";
  t.path_and_query = std::string(parsed->encoded_path());
  if (t.path_and_query.empty()) t.path_and_query = "/";
  if (parsed->has_query()) t.path_and_query += "?" + std::string(parsed->encoded_query());
  if (t.host.empty()) return fail(ErrorCode::kInvalidArgument, "URL has no host: '" + url + "'");
  return t;
}

WireRequest wire_request(const Target& target, const ClientRequest& request) {
  WireRequest req;
  req.method_string(method_name(request.method));
  req.target(target.path_and_query);
  req.version(11);
  req.set(bhttp::field::host, target.key());
  for (const auto& h : request.headers) req.insert(h.name, h.value);
  req.body() = {request.body.data(), request.body.size()};
  req.keep_alive(true);
  req.prepare_payload();
  return req;
}

void expect_answer(ResponseParser& parser, Method method, size_t max_response_bytes) {
  parser.body_limit(max_response_bytes);
  if (method == Method::kHead) parser.skip(true);
}

ClientResponse client_response(ResponseParser& parser) {
  auto& res = parser.get();
  ClientResponse response;
  response.status = static_cast<int>(res.result_int());
  for (const auto& f : res) {
    response.headers.add(std::string(f.name_string()), std::string(f.value()));
  }
  response.body = std::move(res.body());
  return response;
}

Error too_large(const Target& target, size_t max_response_bytes) {
  return {ErrorCode::kResourceExhausted, "response from " + target.key() + " exceeds " +
                                             std::to_string(max_response_bytes) + " bytes"};
}

Error too_late(const Target& target) {
  return {ErrorCode::kDeadlineExceeded,
          "deadline exceeded waiting for " + target.key() + target.path_and_query};
}

Error broken(const Target& target, const boost::system::error_code& ec) {
  return {ErrorCode::kUnavailable,
          "request to " + target.key() + target.path_and_query + " failed: " + ec.message()};
}

}  // namespace seatflow::http
