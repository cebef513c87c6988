// JSON bodies: parsing a request's body with a clear error, and writing one.
//
// Thread safety: free functions.
#pragma once

#include <boost/json/value.hpp>

#include "core/status.hpp"
#include "http/message.hpp"

namespace seatflow::http {

// The request body as JSON. kInvalidArgument when the body is empty or not
// valid JSON (the message says where); kUnimplemented when the Content-Type
// is not application/json (json_error_response() answers 415 for it).
Result<boost::json::value> parse_json_body(const Request& request);

// The response for an error of parse_json_body(): 415 for a wrong content
// type, 400 otherwise.
Response json_error_response(const Error& error);

Response json_response(int status, const boost::json::value& body);

}  // namespace seatflow::http
