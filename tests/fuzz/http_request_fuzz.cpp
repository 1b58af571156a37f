// libFuzzer target for the HTTP request-head parser and what the server runs on its result
// (handshake checks, accept key, query lookup). Run it with `scripts/fuzz.sh http_request`.
//
// Besides memory errors it checks the parser's contract: the head ends in CRLFCRLF within the
// limit, every view lies inside the input, and feeding the same bytes in pieces (with a
// parse_progress) gives the same answer as feeding them whole.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/query.h"
#include "http/request.h"
#include "http/websocket_handshake.h"

namespace {

void require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

bool inside(std::string_view v, std::string_view in) {
  if (v.empty()) {
    return true;
  }
  return v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size();
}

bool is_static_slash(std::string_view v) { return v == "/" || v.empty(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  // The first two bytes choose the head limit and the arrival size; the rest is the input.
  const std::size_t max_head = 16 + (std::size_t{data[0]} << 2);
  const std::size_t step = 1 + (data[1] & 31);
  const std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);

  wsa::http_request whole;
  const wsa::parse_result r = wsa::parse_request(in, max_head, whole);

  wsa::parse_progress progress{};
  wsa::http_request split;
  wsa::parse_result s;
  std::size_t n = 0;
  do {
    n = n + step < in.size() ? n + step : in.size();
    s = wsa::parse_request(in.substr(0, n), max_head, split, &progress);
  } while (s.status == wsa::parse_status::incomplete && n < in.size());
  require(s.status == r.status);
  require(s.http_status == r.http_status);
  require(s.head_length == r.head_length);

  if (r.status == wsa::parse_status::error) {
    require(r.http_status == 400 || r.http_status == 431 || r.http_status == 501 ||
            r.http_status == 505);
    return 0;
  }
  if (r.status == wsa::parse_status::incomplete) {
    require(in.size() < max_head);
    return 0;
  }
  require(r.head_length <= in.size() && r.head_length <= max_head && r.head_length >= 4);
  require(in.substr(r.head_length - 4, 4) == "\r\n\r\n");
  const std::string_view head = in.substr(0, r.head_length);
  for (std::string_view v : {whole.method, whole.target, whole.query, whole.host,
                             whole.sec_websocket_key, whole.sec_websocket_version,
                             whole.authorization, whole.content_type, whole.origin, whole.expect}) {
    require(inside(v, head));
  }
  require(inside(whole.path, head) || is_static_slash(whole.path));
  require(!whole.method.empty() && !whole.target.empty());
  require(whole.header_count <= wsa::max_header_count);
  require(split.method == whole.method && split.target == whole.target &&
          split.host == whole.host && split.header_count == whole.header_count);

  (void)wsa::keep_alive(whole);
  const wsa::upgrade_check check = wsa::check_upgrade(whole);
  if (check.ok()) {
    require(wsa::valid_websocket_key(whole.sec_websocket_key));
    const auto accept = wsa::accept_key(whole.sec_websocket_key);
    require(accept[wsa::accept_key_size - 1] == '=');
  } else {
    require(check.status == 400 || check.status == 405 || check.status == 426);
  }
  char buffer[64];
  const wsa::query_value q = wsa::find_query_param(whole.query, "token", buffer);
  if (q.found()) {
    require(q.length <= sizeof buffer);
  }
  return 0;
}
