// Serves a built web UI (a folder of files, e.g. Vite's `dist/`).
//
// The files are read once, when the site is loaded, and answered from
// memory: a release's UI is a few hundred kilobytes and never changes while
// the process runs. A path names a file; a path with no file extension that
// names none is a client-side route and gets index.html. Files under
// /assets/ carry a content hash in their names and are cached for a year;
// everything else is revalidated (ETag) on every load.
//
// Thread safety: immutable after load(); serve() may run on any thread.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "core/status.hpp"
#include "http/message.hpp"

namespace seatflow::http {

class StaticSite {
 public:
  // Loads every regular file under `root` (at most `max_bytes` in all). The
  // folder must hold an index.html.
  static Result<std::shared_ptr<const StaticSite>> load(const std::filesystem::path& root,
                                                        size_t max_bytes = size_t{64} << 20);

  // Answers a GET or HEAD of request.path: 200 with the file, 304 when
  // If-None-Match matches, 404 (problem) for a missing file, 405 otherwise.
  Response serve(const Request& request) const;

  size_t file_count() const { return files_.size(); }

 private:
  struct File {
    std::string body;
    std::string content_type;
    std::string etag;
  };
  const File* find(const std::string& path) const;

  std::map<std::string, File, std::less<>> files_;  // by URL path: "/index.html"
};

// The Content-Type for a file name's extension (application/octet-stream
// when unknown).
std::string content_type_for(std::string_view file_name);

}  // namespace seatflow::http
