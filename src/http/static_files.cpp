// Static files loaded at startup. See static_files.h.
#include "http/static_files.h"

#include <nettle/sha2.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

#include "http/request.h"
#include "http/response.h"
#include "util/ascii.h"
#include "util/hex.h"
#include "util/percent.h"

namespace wsa {
namespace {

namespace fs = std::filesystem;

struct mime_entry {
  std::string_view extension;
  std::string_view type;
};

// What browsers need for pages, scripts (module scripts are refused with a wrong type),
// styles, images, fonts and data. Text types say UTF-8 so that no page is sniffed.
constexpr std::array<mime_entry, 24> mime_types{{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
}};

std::string etag_of(std::string_view body) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, body.size(), reinterpret_cast<const uint8_t*>(body.data()));
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, sizeof digest, digest);
  std::string tag = "\"";
  append_hex(tag, digest, 16);  // 128 bits tell versions apart
  tag.push_back('"');
  return tag;
}

/// Decodes the %XX escapes of a URL path ('+' is itself: that rule is the query string's);
/// false for a malformed escape or one that decodes to NUL.
bool decode_path(std::string_view path, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < path.size();) {
    const bool escape = path[i] == '%';
    const int byte = percent_decode_next(path, i, /*plus_is_space=*/false);
    if (byte < 0 || (escape && byte == 0)) {
      return false;
    }
    out.push_back(static_cast<char>(byte));
  }
  return true;
}

/// Whether an If-None-Match value names `etag` (a list of entity tags, or "*").
bool matches_etag(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
      item.remove_prefix(1);
    }
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
      item.remove_suffix(1);
    }
    if (item.starts_with("W/")) {
      item.remove_prefix(2);  // weak comparison, as RFC 9110 13.1.2 asks for GET
    }
    if (item == "*" || item == etag) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    header.remove_prefix(comma + 1);
  }
  return false;
}

// Sent with every answer: browsers must not guess a type, and pages served here may carry
// a token in their URL fragment (never sent to servers, but keep referrers out entirely).
constexpr std::string_view common_headers =
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n";

void finish_head(std::string& out, bool close) {
  if (close) {
    out.append("Connection: close\r\n");
  }
  out.append("\r\n");
}

}  // namespace

std::string_view static_files::content_type(std::string_view file_name) {
  const std::size_t slash = file_name.rfind('/');
  const std::string_view base =
      slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
  const std::size_t dot = base.rfind('.');
  if (dot != std::string_view::npos && dot > 0) {
    const std::string_view extension = base.substr(dot + 1);
    for (const mime_entry& m : mime_types) {
      if (iequals(m.extension, extension)) {
        return m.type;
      }
    }
  }
  return "application/octet-stream";
}

bool static_files::load(const std::string& dir, std::string& error, const limits& bounds) {
  files_.clear();
  total_bytes_ = 0;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    error = "--static " + dir + ": not a directory";
    return false;
  }
  if (!add_tree(dir, "", 0, bounds, error)) {
    files_.clear();
    total_bytes_ = 0;
    return false;
  }
  return true;
}

bool static_files::add_tree(const std::string& root, const std::string& relative, unsigned depth,
                            const limits& bounds, std::string& error) {
  if (depth > bounds.max_depth) {
    error = "--static " + root + ": directories nest deeper than " +
            std::to_string(bounds.max_depth) + " levels at " + relative;
    return false;
  }
  std::error_code ec;
  fs::directory_iterator it(fs::path(root) / relative, ec);
  if (ec) {
    error = "--static: cannot read " + (fs::path(root) / relative).string() + ": " + ec.message();
    return false;
  }
  // Sorted, so that which file passes a bound first does not depend on the file system.
  std::vector<fs::directory_entry> entries;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    entries.push_back(*it);
  }
  std::sort(entries.begin(), entries.end());
  for (const fs::directory_entry& entry : entries) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') {
      continue;  // .git, .env, editor swap files: never published by accident
    }
    const std::string path = relative.empty() ? name : relative + "/" + name;
    const fs::file_status status = entry.symlink_status(ec);
    if (fs::is_directory(status)) {
      if (!add_tree(root, path, depth + 1, bounds, error)) {
        return false;
      }
      continue;
    }
    if (!fs::is_regular_file(status)) {
      continue;  // symbolic links could point outside DIR; devices and sockets are not files
    }
    if (files_.size() >= bounds.max_files) {
      error = "--static " + root + ": more than " + std::to_string(bounds.max_files) + " files";
      return false;
    }
    const uintmax_t size = entry.file_size(ec);
    if (ec || size > bounds.max_file_bytes) {
      error = "--static: " + path + " is larger than " + std::to_string(bounds.max_file_bytes) +
              " bytes";
      return false;
    }
    if (total_bytes_ + size > bounds.max_total_bytes) {
      error = "--static " + root + ": files add up to more than " +
              std::to_string(bounds.max_total_bytes) + " bytes";
      return false;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      error = "--static: cannot read " + entry.path().string();
      return false;
    }
    if (body.size() > bounds.max_file_bytes) {  // grew since it was measured
      error = "--static: " + path + " is larger than " + std::to_string(bounds.max_file_bytes) +
              " bytes";
      return false;
    }
    file f;
    f.etag = etag_of(body);
    append_response(f.head, 200, content_type(name), body,
                    std::string(common_headers) + "Cache-Control: no-cache\r\nETag: " + f.etag +
                        "\r\n");
    // Keep the head without its blank line and the body: each answer adds Connection.
    f.head.resize(f.head.size() - body.size() - 2);
    f.body = std::move(body);
    f.index = files_.size();
    total_bytes_ += f.body.size();
    files_.emplace("/" + path, std::move(f));
  }
  return true;
}

const static_files::file* static_files::find(std::string_view url_path,
                                             bool& is_directory) const {
  is_directory = false;
  std::string key;
  if (!decode_path(url_path, key) || key.empty() || key[0] != '/') {
    return nullptr;
  }
  if (key.back() == '/') {
    key += "index.html";
  }
  if (auto it = files_.find(key); it != files_.end()) {
    return &it->second;
  }
  auto index = files_.find(key + "/index.html");
  if (index != files_.end()) {
    is_directory = true;
    return &index->second;
  }
  return nullptr;
}

static_files::answer_body static_files::answer(const http_request& request, bool close,
                                               std::string& out) const {
  const bool head_only = request.method == "HEAD";
  if (request.method != "GET" && !head_only) {
    append_error_response(out, 405, "static files answer GET and HEAD only", "Allow: GET, HEAD\r\n",
                          close);
    return {405};
  }
  bool is_directory = false;
  const file* f = find(request.path, is_directory);
  if (f == nullptr) {
    append_error_response(out, 404, "no such file", {}, close);
    return {404};
  }
  if (is_directory) {
    // Relative links in dir/index.html resolve against dir/, so send the browser there.
    std::string location = "Location: ";
    location.append(request.path);
    location.append("/\r\n");
    append_response(out, 301, "text/plain; charset=utf-8", "moved\n", location, close);
    return {301};
  }
  if (!request.if_none_match.empty() && matches_etag(request.if_none_match, f->etag)) {
    out.append("HTTP/1.1 304 Not Modified\r\n");
    out.append(common_headers);
    out.append("Cache-Control: no-cache\r\nETag: ");
    out.append(f->etag);
    out.append("\r\n");
    finish_head(out, close);
    return {304};
  }
  out.append(f->head);
  finish_head(out, close);
  if (head_only || f->body.empty()) {
    return {200};
  }
  return {200, f->body, f->index};
}

}  // namespace wsa
