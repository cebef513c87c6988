#include "app/web_ui.hpp"

#include <filesystem>
#include <memory>
#include <vector>

#include <boost/json/object.hpp>

#include "core/log.hpp"
#include "http/json.hpp"
#include "http/static_site.hpp"

namespace seatflow::app {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kNotBuilt =
    "<!doctype html><meta charset=utf-8><title>Seatflow</title>"
    "<h1>Seatflow</h1><p>The API is running, but the web UI is not built. "
    "<code>scripts/build.sh</code> builds it (into <code>web/dist</code>); "
    "<code>ui.dir</code> points at a built copy elsewhere.</p>";

std::vector<fs::path> candidates(const UiSettings& settings) {
  if (!settings.dir.empty()) return {settings.dir};
  std::vector<fs::path> out;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back(exe.parent_path().parent_path() / "web" / "dist");
  out.emplace_back("web/dist");
  return out;
}

}  // namespace

std::string add_web_ui(http::Router& router, const UiSettings& settings) {
  router.add_sync(http::Method::kGet, "/api/ui-config", [settings](const http::Request&) {
    boost::json::object config{{"jaeger_url", settings.jaeger_url}};
    return http::json_response(200, config);
  });

  std::shared_ptr<const http::StaticSite> site;
  std::string served;
  for (const auto& dir : candidates(settings)) {
    auto loaded = http::StaticSite::load(dir);
    if (loaded) {
      site = std::move(*loaded);
      served = fs::absolute(dir).lexically_normal().string();
      break;
    }
    if (!settings.dir.empty()) log::warn("ui.dir: {}", loaded.error().message());
  }
  if (site == nullptr) {
    log::warn("the web UI is not built (scripts/build.sh builds it); serving the API only");
  }
  router.set_fallback("ui", [site](http::Request& request, http::Responder responder) {
    // The UI answers only reads of paths outside the API; anything else
    // that matched no route is the API's 404.
    const bool read = request.method == http::Method::kGet || request.method == http::Method::kHead;
    const bool api = request.path.starts_with("/api/") || request.path.starts_with("/internal/") ||
                     request.path.starts_with("/debug/");
    if (!read || api) return responder.send(http::problem(404, "no route for " + request.path));
    if (site != nullptr) return responder.send(site->serve(request));
    if (request.path == "/") {
      return responder.send(
          http::Response::text(200, std::string(kNotBuilt), "text/html; charset=utf-8"));
    }
    responder.send(http::problem(404, "no route for " + request.path));
  });
  return served;
}

}  // namespace seatflow::app
