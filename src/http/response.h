// HTTP/1.1 response writer: appends a whole response (status line, headers, body) to a
// caller-owned std::string, typically the connection's output buffer. It appends only, so
// with enough reserved capacity it does not allocate. Plain functions: any thread.
#pragma once

#include <string>
#include <string_view>

namespace wsa {

/// The reason phrase for the statuses the server answers (101, 200, 204, 301, 304, 400, 401, 403, 404,
/// 405, 408, 411, 413, 426, 429, 431, 500, 501, 503, 505); "Unknown" for any other.
std::string_view reason_phrase(int status);

/// The machine-readable "error" of an error body: "bad_request", "unauthorized", "forbidden",
/// "not_found", "method_not_allowed", "request_timeout", "length_required",
/// "payload_too_large", "upgrade_required", "rate_limited", "header_too_large",
/// "internal_error", "not_implemented", "unavailable", "version_not_supported"; "error" else.
std::string_view error_code(int status);

/// Appends a response. Content-Type is written when not empty, Content-Length always, except
/// for 1xx and 204 responses, which carry neither fields nor body (RFC 9110 8.6). `close`
/// adds "Connection: close". `extra_headers` are whole lines, each ending in CRLF, e.g.
/// "Allow: GET\r\n".
void append_response(std::string& out, int status, std::string_view content_type,
                     std::string_view body, std::string_view extra_headers = {},
                     bool close = false);

/// Appends an error response with a JSON body {"error":"<error_code>","reason":"<reason>"};
/// the reason (UTF-8) is escaped as a JSON string.
void append_error_response(std::string& out, int status, std::string_view reason,
                           std::string_view extra_headers = {}, bool close = false);

/// Appends the 503 that a connection refused at accept gets before it is closed: over
/// --max-connections, or accepted just as the node started draining (then the reason tells
/// the client to connect to another node rather than that the node is full).
void append_connection_refusal(std::string& out, bool draining);

}  // namespace wsa
