#include "http/router.hpp"

#include <stdexcept>

namespace seatflow::http {
namespace {

// Splits "/a/b/c" into {"a","b","c"}; "/" into {}.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  out.reserve(8);
  if (path.size() <= 1) return out;
  size_t start = 1;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    out.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

}  // namespace

void Router::add(Method method, std::string_view pattern, Handler handler) {
  if (pattern.empty() || pattern[0] != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  }
  Route route{method, std::string(pattern), {}, std::move(handler)};
  for (std::string_view seg : split_path(pattern)) {
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      route.segments.push_back({std::string(seg.substr(1, seg.size() - 2)), true});
    } else {
      route.segments.push_back({std::string(seg), false});
    }
  }
  routes_.push_back(std::move(route));
}

void Router::add_sync(Method method, std::string_view pattern, SyncHandler handler) {
  add(method, pattern, [handler = std::move(handler)](Request& request, Responder responder) {
    responder.send(handler(request));
  });
}

void Router::dispatch(Request& request, Responder responder) const {
  std::vector<std::string> segments;
  segments.reserve(8);
  for (std::string_view raw : split_path(request.path)) {
    if (raw.find('%') == std::string_view::npos) {
      segments.emplace_back(raw);
    } else {
      auto decoded = percent_decode(raw);
      if (!decoded) {
        request.route = "unmatched";
        responder.send(problem(400, "the path has a malformed percent-escape"));
        return;
      }
      segments.push_back(std::move(*decoded));
    }
    if (segments.back() == "." || segments.back() == "..") {
      request.route = "unmatched";
      responder.send(problem(400, "the path may not contain '.' or '..' segments"));
      return;
    }
  }

  std::string allow;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    bool matches = true;
    for (size_t i = 0; i < segments.size() && matches; ++i) {
      const Segment& seg = route.segments[i];
      matches = seg.is_param ? !segments[i].empty() : seg.text == segments[i];
    }
    if (!matches) continue;
    const bool head_as_get = request.method == Method::kHead && route.method == Method::kGet;
    if (route.method != request.method && !head_as_get) {
      if (allow.find(method_name(route.method)) == std::string::npos) {
        if (!allow.empty()) allow += ", ";
        allow += method_name(route.method);
      }
      continue;
    }
    request.route = route.pattern;
    request.path_params.clear();
    for (size_t i = 0; i < segments.size(); ++i) {
      if (route.segments[i].is_param) {
        request.path_params.emplace_back(route.segments[i].text, std::move(segments[i]));
      }
    }
    route.handler(request, std::move(responder));
    return;
  }

  request.route = "unmatched";
  if (!allow.empty()) {
    // A method this server does not know has no name to give back.
    const std::string method = request.method == Method::kOther
                                   ? std::string("the request's method")
                                   : "method " + std::string(method_name(request.method));
    Response r = problem(405, method + " is not allowed here; allowed: " + allow);
    r.headers.set("Allow", allow);
    responder.send(std::move(r));
    return;
  }
  if (fallback_) {
    request.route = fallback_route_;
    fallback_(request, std::move(responder));
    return;
  }
  responder.send(problem(404, "no route for " + request.path));
}

void Router::set_fallback(std::string route, Handler handler) {
  fallback_route_ = std::move(route);
  fallback_ = std::move(handler);
}

std::vector<std::string> Router::templates() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) out.push_back(r.pattern);
  return out;
}

Handler chain(std::vector<std::shared_ptr<Middleware>> middleware, Handler last) {
  Handler next = std::move(last);
  for (auto it = middleware.rbegin(); it != middleware.rend(); ++it) {
    next = [m = *it, inner = std::move(next)](Request& request, Responder responder) {
      m->handle(request, std::move(responder), inner);
    };
  }
  return next;
}

}  // namespace seatflow::http
