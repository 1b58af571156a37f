// The files of `wsagent serve --static DIR`, served under `/` beside /ws and the admin
// endpoints: web pages that use the server (the demo applications, an app's own front end).
//
// Everything is read once, at startup, into memory; a request is a table lookup that never
// touches the file system, so no request can reach a path outside DIR, see a directory
// listing or observe a file half-written. Only regular files are loaded (symbolic links,
// devices and names starting with '.' are skipped), within fixed bounds: a larger tree is
// refused at startup with a clear message rather than served in part.
//
// Responses: GET and HEAD only (405 with Allow otherwise); `/dir/` serves dir/index.html and
// `/dir` redirects there (301); the Content-Type comes from the file's extension; a strong
// ETag (SHA-256 of the content) with `Cache-Control: no-cache` lets browsers revalidate
// with If-None-Match (304) instead of downloading again; anything else is 404.
//
// An answer is its head (built per request) and, for a 200 to GET, the file's body apart,
// numbered, so that a server can keep one copy of each body and queue it by reference to
// every connection that asks (a thousand slow readers of one file hold one copy, not a
// thousand).
//
// Immutable once loaded: shards share one instance read-only, without locks.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace wsa {

struct http_request;

class static_files {
 public:
  struct limits {
    std::size_t max_file_bytes = std::size_t{16} << 20;   ///< one file
    std::size_t max_total_bytes = std::size_t{64} << 20;  ///< all files together
    std::size_t max_files = 10000;
    unsigned max_depth = 16;  ///< directory levels below DIR
  };

  /// Loads every regular file below `dir`. On failure `error` says which file or bound, and
  /// nothing is kept.
  bool load(const std::string& dir, std::string& error, const limits& bounds);
  bool load(const std::string& dir, std::string& error) { return load(dir, error, limits{}); }

  std::size_t file_count() const { return files_.size(); }
  std::size_t total_bytes() const { return total_bytes_; }

  struct answer_body {
    int status = 0;
    std::string_view body;  ///< the file's bytes, to send after the head (empty: none)
    std::size_t file = 0;   ///< which file (0..file_count()-1) when body is not empty
  };

  /// Appends the HTTP response head to `request` (method, path, If-None-Match) to `out`,
  /// with the body too for small error answers: 200 (no body for HEAD), 301, 304, 404 or
  /// 405. `close` adds "Connection: close". A 200's file body comes back apart.
  answer_body answer(const http_request& request, bool close, std::string& out) const;

  /// The Content-Type for a file name, by extension ("application/octet-stream" if unknown).
  static std::string_view content_type(std::string_view file_name);

 private:
  struct file {
    std::string head;  ///< status line and headers of the 200, without the final CRLF
    std::string etag;  ///< quoted, as sent
    std::string body;
    std::size_t index = 0;
  };
  const file* find(std::string_view url_path, bool& is_directory) const;
  bool add_tree(const std::string& root, const std::string& relative, unsigned depth,
                const limits& bounds, std::string& error);

  std::unordered_map<std::string, file> files_;  // key: URL path, "/" + relative file path
  std::size_t total_bytes_ = 0;
};

}  // namespace wsa
