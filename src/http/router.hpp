// Routes requests by method and path template to handlers, and chains
// middleware around them.
//
// Templates are literal segments and {name} parameters:
// "/api/events/{event_id}/seats". A request whose path matches no template
// gets 404; one whose path matches but whose method does not gets 405 with
// an Allow header. Path segments are percent-decoded one by one, so "%2F"
// stays inside its segment; "." and ".." segments are refused (400).
//
// Thread safety: build the router before the server starts; afterwards it is
// only read.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"
#include "http/responder.hpp"

namespace seatflow::http {

using Handler = std::function<void(Request&, Responder)>;
using SyncHandler = std::function<Response(const Request&)>;

// Runs around every request: may answer itself, or call `next`.
class Middleware {
 public:
  virtual ~Middleware() = default;
  virtual void handle(Request& request, Responder responder, const Handler& next) = 0;
};

class Router {
 public:
  void add(Method method, std::string_view pattern, Handler handler);
  // A handler that answers at once, on the connection's thread.
  void add_sync(Method method, std::string_view pattern, SyncHandler handler);

  // Handles requests whose path matches no template (instead of 404), with
  // request.route set to `route` (one label for metrics): e.g. the web UI's
  // files and client-side routes.
  void set_fallback(std::string route, Handler handler);

  // Finds the route; fills request.route and request.path_params and calls
  // its handler, or the fallback, or answers 400/404/405.
  void dispatch(Request& request, Responder responder) const;

  // Every template, for metrics and documentation.
  std::vector<std::string> templates() const;

 private:
  struct Segment {
    std::string text;
    bool is_param = false;
  };
  struct Route {
    Method method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
  std::string fallback_route_;
  Handler fallback_;
};

// Composes middleware (outermost first) around a final handler.
Handler chain(std::vector<std::shared_ptr<Middleware>> middleware, Handler last);

}  // namespace seatflow::http
