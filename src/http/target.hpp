// Where a client request goes: an http:// URL split into what a connection
// and a request line need. Shared by the asynchronous client and the
// blocking one.
//
// Thread safety: values.
#pragma once

#include <string>

#include "core/status.hpp"

namespace seatflow::http {

struct Target {
  std::string host;
  std::string port;
  std::string path_and_query;
  std::string key() const { return host + ":" + port; }  // "host:port"
};

// Errors: kInvalidArgument (not a URL, not http://, no host).
Result<Target> parse_url(const std::string& url);

}  // namespace seatflow::http
