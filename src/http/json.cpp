#include "http/json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace seatflow::http {

Result<boost::json::value> parse_json_body(const Request& request) {
  const auto type = request.header("Content-Type");
  std::string_view media = type.value_or("");
  media = media.substr(0, media.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (!iequals(media, "application/json") && !(media.size() > 5 && media.ends_with("+json"))) {
    return fail(ErrorCode::kUnimplemented,
                "the body must be application/json, got '" + std::string(type.value_or("")) + "'");
  }
  if (request.body.empty()) return fail(ErrorCode::kInvalidArgument, "the JSON body is empty");
  boost::json::error_code ec;
  boost::json::value value = boost::json::parse(request.body, ec);
  if (ec) {
    return fail(ErrorCode::kInvalidArgument, "the body is not valid JSON: " + ec.message());
  }
  return value;
}

Response json_error_response(const Error& error) {
  if (error.code() == ErrorCode::kUnimplemented) return problem(415, error.message());
  return problem(400, error.message());
}

Response json_response(int status, const boost::json::value& body) {
  return Response::json(status, boost::json::serialize(body));
}

}  // namespace seatflow::http
