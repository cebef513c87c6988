#include "http/static_site.hpp"

#include <array>
#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/core.h>

#include "core/text.hpp"

namespace seatflow::http {

namespace fs = std::filesystem;

namespace {

// FNV-1a, 64 bits: an ETag only has to change when the bytes do.
uint64_t fnv1a(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

bool has_extension(std::string_view path) {
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  return dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash);
}

}  // namespace

std::string content_type_for(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
  }};
  for (const auto& [extension, type] : kTypes) {
    if (file_name.size() >= extension.size() &&
        iequals(file_name.substr(file_name.size() - extension.size()), extension)) {
      return std::string(type);
    }
  }
  return "application/octet-stream";
}

Result<std::shared_ptr<const StaticSite>> StaticSite::load(const fs::path& root, size_t max_bytes) {
  std::error_code ec;
  if (!fs::is_regular_file(root / "index.html", ec)) {
    return fail(ErrorCode::kNotFound, "no index.html in " + root.string());
  }
  auto site = std::make_shared<StaticSite>();
  size_t total = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string relative = fs::relative(it->path(), root, ec).generic_string();
    if (ec) break;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in) return fail(ErrorCode::kInternal, "cannot read " + it->path().string());
    File file{
        .body = std::move(bytes).str(), .content_type = content_type_for(relative), .etag = ""};
    file.etag = fmt::format("\"{:016x}\"", fnv1a(file.body));
    total += file.body.size();
    if (total > max_bytes) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} holds more than {} bytes; is it the built UI?", root.string(),
                              max_bytes));
    }
    site->files_.emplace("/" + relative, std::move(file));
  }
  if (ec) return fail(ErrorCode::kInternal, "cannot list " + root.string() + ": " + ec.message());
  return std::shared_ptr<const StaticSite>(std::move(site));
}

const StaticSite::File* StaticSite::find(const std::string& path) const {
  const std::string& wanted = path == "/" ? std::string("/index.html") : path;
  if (auto it = files_.find(wanted); it != files_.end()) return &it->second;
  if (!has_extension(path)) return &files_.at("/index.html");  // a client-side route
  return nullptr;
}

Response StaticSite::serve(const Request& request) const {
  if (request.method != Method::kGet && request.method != Method::kHead) {
    Response r = problem(405, "only GET and HEAD are allowed here");
    r.headers.set("Allow", "GET, HEAD");
    return r;
  }
  const File* file = find(request.path);
  if (file == nullptr) return problem(404, "no file " + request.path);
  const bool immutable = request.path.starts_with("/assets/") && file != &files_.at("/index.html");
  Response r;
  if (request.header("If-None-Match") == file->etag) {
    r.status = 304;
  } else {
    r.status = 200;
    r.body = file->body;
    r.headers.set("Content-Type", file->content_type);
  }
  r.headers.set("ETag", file->etag);
  r.headers.set("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.set("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace seatflow::http
