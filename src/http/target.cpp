#include "http/target.hpp"

#include <boost/url/parse.hpp>

namespace seatflow::http {

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

}  // namespace seatflow::http
