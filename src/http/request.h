// In-place HTTP/1.1 request-head parser (RFC 9112). Stateless: the caller hands it every byte
// received so far for the current request and gets back `incomplete`, `complete` (head length)
// or `error` with the status to answer. The parsed request holds views into those bytes, so it
// is valid only while they are neither moved nor freed. Nothing here allocates.
//
// Every byte is hostile: the parser is strict and refuses rather than guesses. Lines end in
// CRLF only (a bare LF or a lone CR is 400); NUL and control bytes are 400; obs-fold is 400;
// whitespace before the colon is 400; Content-Length must be digits and may appear once;
// Transfer-Encoding is refused (501; 400 together with Content-Length); Host must appear
// exactly once in HTTP/1.1. Empty lines before the request line are skipped (RFC 9112 2.2).
// A head past the size limit, or with more than max_header_count fields, is 431 as soon as
// that is known, without waiting for its end.
//
// Plain functions and values: any thread; a shard uses it for its own connections.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wsa {

inline constexpr std::size_t max_header_count = 64;

enum class http_version : uint8_t { http_1_0, http_1_1 };

/// Every value of one header that may legitimately appear several times (or carry a
/// comma-separated list): Connection, Upgrade, Sec-WebSocket-Protocol.
struct header_list {
  static constexpr std::size_t capacity = 8;
  std::array<std::string_view, capacity> values{};
  uint8_t count = 0;

  bool empty() const { return count == 0; }
  /// True when one of the values holds `token` as a list element (case-insensitive).
  bool has_token(std::string_view token) const;
};

/// A parsed request head. Header values are trimmed of surrounding spaces and tabs. An absent
/// header is an empty view (use has_host for Host, where empty is a legal value).
struct http_request {
  std::string_view method;  ///< case-sensitive, as sent ("GET")
  std::string_view target;  ///< request-target as sent: "/ws?token=x", "http://h/p", "*"
  std::string_view path;    ///< target up to '?', not decoded; absolute-form: from the path on
  std::string_view query;   ///< after the first '?', without it; empty when none
  http_version version = http_version::http_1_1;

  bool has_host = false;
  std::string_view host;
  header_list connection;
  header_list upgrade;
  std::string_view sec_websocket_key;
  std::string_view sec_websocket_version;
  header_list sec_websocket_protocol;
  std::string_view authorization;
  std::string_view content_type;
  std::string_view origin;
  std::string_view expect;  ///< e.g. "100-continue": answer it or ignore it, as the caller likes
  std::string_view if_none_match;  ///< entity tags a cache holds (static files answer 304)
  bool has_content_length = false;
  uint64_t content_length = 0;
  uint16_t header_count = 0;  ///< all header fields, known or not
};

enum class parse_status : uint8_t { incomplete, complete, error };

struct parse_result {
  parse_status status = parse_status::incomplete;
  uint16_t http_status = 0;     ///< on error: 400, 431, 501 or 505
  std::size_t head_length = 0;  ///< on complete: bytes up to and including the final CRLFCRLF
  std::string_view reason;      ///< on error: short static text for the response body
};

/// Optional memory between calls for one request, so that a head arriving a byte at a time
/// is scanned once instead of once per arrival. Value-initialise it for each new request
/// (after consuming a request, reset it before parsing the next one) and pass the bytes from
/// the same start every time. Its fields are the parser's business.
struct parse_progress {
  uint32_t line_start = 0;         ///< start of the first line not yet checked
  uint32_t scanned = 0;            ///< bytes before this offset were checked
  uint16_t headers = 0;            ///< header fields among the checked lines
  uint16_t seen = 0;               ///< single-valued headers met (duplicates are refused)
  std::array<uint8_t, 3> lists{};  ///< Connection, Upgrade, Sec-WebSocket-Protocol fields met
  bool seen_request_line = false;
  bool transfer_encoding = false;
};

/// Parses the request head at the start of `bytes`. Bytes after the head (a body, pipelined
/// requests) are left alone: the caller consumes head_length (+ content_length). `request` is
/// meaningful only when the result is complete. max_head_bytes bounds the head including its
/// final CRLFCRLF.
parse_result parse_request(std::string_view bytes, std::size_t max_head_bytes,
                           http_request& request, parse_progress* progress = nullptr);

/// True when the comma-separated `value` has an element equal to `token`, ignoring case and
/// the spaces/tabs around elements: header_has_token("keep-alive, Upgrade", "upgrade").
bool header_has_token(std::string_view value, std::string_view token);

/// Whether the connection stays open after the response: HTTP/1.1 unless "Connection: close",
/// HTTP/1.0 only with "Connection: keep-alive".
bool keep_alive(const http_request& request);

}  // namespace wsa
