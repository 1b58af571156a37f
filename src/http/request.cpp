// HTTP/1.1 request-head parser: one pass over the bytes with a class table, line by line.
// See request.h for the contract and the rules it enforces.
#include "http/request.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "util/ascii.h"

namespace wsa {
namespace {

constexpr uint8_t is_tchar = 1;   // RFC 9110 token character
constexpr uint8_t is_field = 2;   // may appear inside any head line: VCHAR, obs-text, SP, HTAB
constexpr uint8_t is_target = 4;  // may appear in a request-target: VCHAR

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> table{};
  constexpr std::string_view tchar_symbols = "!#$%&'*+-.^_`|~";
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    if (c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f)) {
      v |= is_field;
    }
    if (c >= 0x21 && c <= 0x7e) {
      v |= is_target;
    }
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum || (c < 0x80 && tchar_symbols.find(static_cast<char>(c)) != std::string_view::npos)) {
      v |= is_tchar;
    }
    table[static_cast<std::size_t>(c)] = v;
  }
  return table;
}

constexpr std::array<uint8_t, 256> classes = make_classes();

inline uint8_t class_of(char c) { return classes[static_cast<unsigned char>(c)]; }

// `lower_name` is a lowercase literal of letters and '-': OR-ing 0x20 folds only letters there,
// and the name was already checked to be token characters.
bool name_is(std::string_view name, std::string_view lower_name) {
  if (name.size() != lower_name.size()) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (static_cast<char>(name[i] | 0x20) != lower_name[i]) {
      return false;
    }
  }
  return true;
}

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
    v.remove_suffix(1);
  }
  return v;
}

parse_result fail(uint16_t status, std::string_view reason) {
  return parse_result{parse_status::error, status, 0, reason};
}

constexpr parse_result ok{};  // "go on": incomplete with no status

// Where the walk is and what it has met. Resuming from a parse_progress replays none of the
// recorded views, but restores everything a later line is judged by (duplicates, list sizes,
// counts), so a head split anywhere is refused exactly as the whole head would be.
struct walker {
  http_request& request;
  std::size_t line_start = 0;
  std::size_t scanned = 0;
  uint16_t headers = 0;
  uint16_t seen = 0;  // bit per single-valued header
  bool seen_request_line = false;
  bool transfer_encoding = false;
};

enum seen_bit : uint16_t {
  seen_host = 1u << 0,
  seen_content_length = 1u << 1,
  seen_key = 1u << 2,
  seen_version = 1u << 3,
  seen_authorization = 1u << 4,
  seen_content_type = 1u << 5,
  seen_origin = 1u << 6,
  seen_expect = 1u << 7,
};

parse_result set_once(walker& w, seen_bit bit, std::string_view& field, std::string_view value,
                      std::string_view duplicate_reason) {
  if (w.seen & bit) {
    return fail(400, duplicate_reason);
  }
  w.seen |= bit;
  field = value;
  return ok;
}

parse_result append(header_list& list, std::string_view value, std::string_view overflow_reason) {
  if (list.count == header_list::capacity) {
    return fail(431, overflow_reason);
  }
  list.values[list.count++] = value;
  return ok;
}

parse_result parse_content_length(walker& w, std::string_view value) {
  if (w.seen & seen_content_length) {
    return fail(400, "duplicate Content-Length header");
  }
  w.seen |= seen_content_length;
  if (value.empty()) {
    return fail(400, "Content-Length is not a number");
  }
  uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') {
      return fail(400, "Content-Length is not a number");
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return fail(400, "Content-Length out of range");
    }
    n = n * 10 + digit;
  }
  w.request.has_content_length = true;
  w.request.content_length = n;
  return ok;
}

parse_result record(walker& w, std::string_view name, std::string_view value) {
  http_request& r = w.request;
  switch (name.size()) {
    case 4:
      if (name_is(name, "host")) {
        r.has_host = true;
        return set_once(w, seen_host, r.host, value, "duplicate Host header");
      }
      break;
    case 6:
      if (name_is(name, "origin")) {
        return set_once(w, seen_origin, r.origin, value, "duplicate Origin header");
      }
      if (name_is(name, "expect")) {
        return set_once(w, seen_expect, r.expect, value, "duplicate Expect header");
      }
      break;
    case 7:
      if (name_is(name, "upgrade")) {
        return append(r.upgrade, value, "too many Upgrade header fields");
      }
      break;
    case 10:
      if (name_is(name, "connection")) {
        return append(r.connection, value, "too many Connection header fields");
      }
      break;
    case 12:
      if (name_is(name, "content-type")) {
        return set_once(w, seen_content_type, r.content_type, value,
                        "duplicate Content-Type header");
      }
      break;
    case 13:
      if (name_is(name, "authorization")) {
        return set_once(w, seen_authorization, r.authorization, value,
                        "duplicate Authorization header");
      }
      if (name_is(name, "if-none-match")) {
        // A list header that may legally repeat; the first field is enough for a 304.
        if (r.if_none_match.empty()) {
          r.if_none_match = value;
        }
        return ok;
      }
      break;
    case 14:
      if (name_is(name, "content-length")) {
        return parse_content_length(w, value);
      }
      break;
    case 17:
      if (name_is(name, "transfer-encoding")) {
        w.transfer_encoding = true;
        return ok;
      }
      if (name_is(name, "sec-websocket-key")) {
        return set_once(w, seen_key, r.sec_websocket_key, value,
                        "duplicate Sec-WebSocket-Key header");
      }
      break;
    case 21:
      if (name_is(name, "sec-websocket-version")) {
        return set_once(w, seen_version, r.sec_websocket_version, value,
                        "duplicate Sec-WebSocket-Version header");
      }
      break;
    case 22:
      if (name_is(name, "sec-websocket-protocol")) {
        return append(r.sec_websocket_protocol, value,
                      "too many Sec-WebSocket-Protocol header fields");
      }
      break;
    default:
      break;
  }
  return ok;
}

// Splits the target into path and query. Origin-form "/p?q", absolute-form "http://h/p?q"
// (RFC 9112 3.2.2: a server must accept it) and asterisk-form "*"; authority-form is only for
// CONNECT, which we do not serve.
bool split_target(std::string_view target, http_request& r) {
  std::string_view rest;
  if (target.front() == '/') {
    rest = target;
  } else if (target == "*") {
    r.path = target;
    return true;
  } else {
    std::size_t scheme = 0;
    if (istarts_with(target, "http://")) {
      scheme = 7;
    } else if (istarts_with(target, "https://")) {
      scheme = 8;
    } else {
      return false;
    }
    const std::size_t authority_end = target.find_first_of("/?", scheme);
    if (authority_end == scheme) {
      return false;  // empty authority
    }
    if (authority_end == std::string_view::npos) {
      r.path = "/";
      return true;
    }
    rest = target.substr(authority_end);
  }
  const std::size_t q = rest.find('?');
  if (q == std::string_view::npos) {
    r.path = rest;
    return true;
  }
  r.path = q == 0 ? std::string_view("/") : rest.substr(0, q);
  r.query = rest.substr(q + 1);
  return true;
}

parse_result parse_request_line(std::string_view line, walker& w) {
  const std::size_t n = line.size();
  std::size_t i = 0;
  while (i < n && (class_of(line[i]) & is_tchar)) {
    ++i;
  }
  if (i == 0 || i >= n || line[i] != ' ') {
    return fail(400, "malformed request line");
  }
  const std::string_view method = line.substr(0, i);
  const std::size_t target_start = ++i;
  while (i < n && (class_of(line[i]) & is_target)) {
    ++i;
  }
  if (i == target_start || i >= n || line[i] != ' ') {
    return fail(400, "malformed request line");
  }
  const std::string_view target = line.substr(target_start, i - target_start);
  const std::string_view version = line.substr(i + 1);
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !digit(version[5]) ||
      version[6] != '.' || !digit(version[7])) {
    return fail(400, "malformed HTTP version");
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return fail(505, "HTTP version not supported");
  }
  http_request& r = w.request;
  if (!split_target(target, r)) {
    return fail(400, "unsupported request-target");
  }
  r.method = method;
  r.target = target;
  r.version = version[7] == '1' ? http_version::http_1_1 : http_version::http_1_0;
  return ok;
}

parse_result parse_header_line(std::string_view line, walker& w) {
  const std::size_t n = line.size();
  std::size_t i = 0;
  while (i < n && (class_of(line[i]) & is_tchar)) {
    ++i;
  }
  if (i == 0) {
    return fail(400, line[0] == ' ' || line[0] == '\t' ? "obsolete line folding"
                                                       : "malformed header field");
  }
  if (i >= n || line[i] != ':') {
    return fail(400, "malformed header field name");
  }
  ++w.request.header_count;
  return record(w, line.substr(0, i), trim_ows(line.substr(i + 1)));
}

// Checks and records the lines from w.line_start on. Returns complete with the head length,
// an error, or incomplete (status 0) with `w` saying where to resume.
parse_result walk(std::string_view in, std::size_t max_head, walker& w) {
  const std::size_t limit = std::min(in.size(), max_head);
  const char* p = in.data();
  std::size_t i = std::max(w.scanned, w.line_start);
  for (;;) {
    while (i < limit && (class_of(p[i]) & is_field)) {
      ++i;
    }
    if (i >= limit) {
      break;
    }
    if (p[i] != '\r') {
      return fail(400, p[i] == '\n' ? "bare LF in request head" : "control byte in request head");
    }
    if (i + 1 >= limit) {
      break;  // the CR is checked again once its LF may have arrived
    }
    if (p[i + 1] != '\n') {
      return fail(400, "CR not followed by LF");
    }
    const std::string_view line = in.substr(w.line_start, i - w.line_start);
    i += 2;
    w.line_start = i;
    w.scanned = i;
    if (!w.seen_request_line) {
      if (line.empty()) {
        continue;
      }
      if (parse_result r = parse_request_line(line, w); r.status == parse_status::error) {
        return r;
      }
      w.seen_request_line = true;
    } else if (line.empty()) {
      return parse_result{parse_status::complete, 0, i, {}};
    } else {
      if (++w.headers > max_header_count) {
        return fail(431, "too many header fields");
      }
      if (parse_result r = parse_header_line(line, w); r.status == parse_status::error) {
        return r;
      }
    }
  }
  w.scanned = i;
  if (in.size() >= max_head) {
    return fail(431, "request head too large");
  }
  return ok;
}

void save(parse_progress* progress, const walker& w) {
  if (progress == nullptr || w.scanned > std::numeric_limits<uint32_t>::max()) {
    return;
  }
  progress->line_start = static_cast<uint32_t>(w.line_start);
  progress->scanned = static_cast<uint32_t>(w.scanned);
  progress->headers = w.headers;
  progress->seen = w.seen;
  progress->lists = {w.request.connection.count, w.request.upgrade.count,
                     w.request.sec_websocket_protocol.count};
  progress->seen_request_line = w.seen_request_line;
  progress->transfer_encoding = w.transfer_encoding;
}

}  // namespace

bool header_list::has_token(std::string_view token) const {
  for (uint8_t i = 0; i < count; ++i) {
    if (header_has_token(values[i], token)) {
      return true;
    }
  }
  return false;
}

parse_result parse_request(std::string_view bytes, std::size_t max_head_bytes,
                           http_request& request, parse_progress* progress) {
  if (progress != nullptr &&
      (progress->line_start > bytes.size() || progress->scanned > bytes.size())) {
    *progress = {};  // not the bytes it was made for: start over rather than trust it
  }
  if (progress != nullptr && (progress->scanned > 0 || progress->line_start > 0)) {
    // Resuming: judge only the new lines (into a scratch request, since views recorded by
    // earlier calls may point into a buffer that has moved since), then record the whole
    // head from the start once it is complete.
    http_request scratch;
    scratch.connection.count = progress->lists[0];
    scratch.upgrade.count = progress->lists[1];
    scratch.sec_websocket_protocol.count = progress->lists[2];
    walker w{
        scratch,        progress->line_start,        progress->scanned,          progress->headers,
        progress->seen, progress->seen_request_line, progress->transfer_encoding};
    parse_result r = walk(bytes, max_head_bytes, w);
    if (r.status != parse_status::complete) {
      save(progress, w);
      return r;
    }
  }
  request = http_request{};
  walker w{request};
  parse_result r = walk(bytes, max_head_bytes, w);
  if (r.status == parse_status::incomplete) {
    save(progress, w);
    return r;
  }
  if (r.status == parse_status::error) {
    return r;
  }
  if (w.transfer_encoding) {
    // A message with both is the classic request-smuggling shape (RFC 9112 6.1): refuse it.
    if (request.has_content_length) {
      return fail(400, "both Transfer-Encoding and Content-Length");
    }
    return fail(501, "Transfer-Encoding not supported");
  }
  if (request.version == http_version::http_1_1 && !request.has_host) {
    return fail(400, "missing Host header");
  }
  return r;
}

bool header_has_token(std::string_view value, std::string_view token) {
  if (token.empty()) {
    return false;
  }
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) {
      comma = value.size();
    }
    if (iequals(trim_ows(value.substr(start, comma - start)), token)) {
      return true;
    }
    start = comma + 1;
  }
  return false;
}

bool keep_alive(const http_request& request) {
  if (request.connection.has_token("close")) {
    return false;
  }
  return request.version == http_version::http_1_1 || request.connection.has_token("keep-alive");
}

}  // namespace wsa
