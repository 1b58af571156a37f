// HTTP/1.1 response writer. See response.h.
#include "http/response.h"

#include <charconv>

#include "json/writer.h"
#include "util/check.h"

namespace wsa {
namespace {

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, static_cast<std::size_t>(end - digits));
}

void append_head(std::string& out, int status, std::string_view content_type,
                 std::size_t body_length, std::string_view extra_headers, bool close) {
  WSA_ASSERT(status >= 100 && status <= 999);
  WSA_ASSERT(extra_headers.empty() || extra_headers.ends_with("\r\n"));
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<std::size_t>(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\n");
  const bool has_body = status >= 200 && status != 204;
  if (has_body) {
    if (!content_type.empty()) {
      out.append("Content-Type: ");
      out.append(content_type);
      out.append("\r\n");
    }
    out.append("Content-Length: ");
    append_number(out, body_length);
    out.append("\r\n");
  }
  if (close) {
    out.append("Connection: close\r\n");
  }
  out.append(extra_headers);
  out.append("\r\n");
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string_view error_code(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 408:
      return "request_timeout";
    case 411:
      return "length_required";
    case 413:
      return "payload_too_large";
    case 426:
      return "upgrade_required";
    case 429:
      return "rate_limited";  // the code a `pub` over the rate gets on a WebSocket
    case 431:
      return "header_too_large";
    case 500:
      return "internal_error";
    case 501:
      return "not_implemented";
    case 503:
      return "unavailable";
    case 505:
      return "version_not_supported";
    default:
      return "error";
  }
}

void append_response(std::string& out, int status, std::string_view content_type,
                     std::string_view body, std::string_view extra_headers, bool close) {
  append_head(out, status, content_type, body.size(), extra_headers, close);
  if (status >= 200 && status != 204) {
    out.append(body);
  }
}

void append_error_response(std::string& out, int status, std::string_view reason,
                           std::string_view extra_headers, bool close) {
  constexpr std::string_view open = "{\"error\":\"";
  constexpr std::string_view middle = "\",\"reason\":";
  constexpr std::string_view end = "}";
  const std::string_view code = error_code(status);
  const std::size_t length =
      open.size() + code.size() + middle.size() + json_string_size(reason) + end.size();
  append_head(out, status, "application/json", length, extra_headers, close);
  out.append(open);
  out.append(code);
  out.append(middle);
  append_json_string(out, reason);
  out.append(end);
}

void append_connection_refusal(std::string& out, bool draining) {
  append_error_response(out, 503,
                        draining ? "draining: this node is shutting down, connect to another"
                                 : "connection limit reached",
                        {}, /*close=*/true);
}

}  // namespace wsa
