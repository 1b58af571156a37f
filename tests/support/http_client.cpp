#include "support/http_client.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <strings.h>

namespace wsa::test {
namespace {

using clock_type = std::chrono::steady_clock;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Reads until `enough(buffer)` holds; false on eof. Throws on timeout.
template <typename Predicate>
bool read_until(tcp_socket& socket, std::string& buffer, clock_type::time_point deadline,
                Predicate enough) {
  while (!enough(buffer)) {
    switch (socket.read_some(buffer, left_until(deadline))) {
      case tcp_socket::read_status::data:
        break;
      case tcp_socket::read_status::eof:
        return enough(buffer);
      case tcp_socket::read_status::timeout:
        throw std::runtime_error("timed out waiting for an HTTP response; got: " + buffer);
    }
  }
  return true;
}

}  // namespace

std::string http_response::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), name.size()) == 0) {
      return value;
    }
  }
  return {};
}

bool http_response::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) {
    return h.first.size() == name.size() &&
           ::strncasecmp(h.first.data(), name.data(), name.size()) == 0;
  });
}

http_response read_http_response(tcp_socket& socket, std::string& buffer,
                                 std::chrono::milliseconds timeout, bool head_only) {
  const auto deadline = clock_type::now() + timeout;
  const auto has_head = [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; };
  if (!read_until(socket, buffer, deadline, has_head)) {
    throw std::runtime_error("connection closed before a complete HTTP response head; got: " +
                             buffer);
  }
  const std::size_t head_end = buffer.find("\r\n\r\n");
  const std::string head = buffer.substr(0, head_end);
  buffer.erase(0, head_end + 4);

  http_response r;
  std::size_t line_end = head.find("\r\n");
  const std::string_view status_line = std::string_view(head).substr(0, line_end);
  if (status_line.substr(0, 9) != "HTTP/1.1 " || status_line.size() < 12) {
    throw std::runtime_error("bad status line: " + std::string(status_line));
  }
  std::from_chars(status_line.data() + 9, status_line.data() + 12, r.status);
  r.reason = std::string(trim(status_line.substr(12)));
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string_view line = std::string_view(head).substr(
        start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      throw std::runtime_error("bad header line: " + std::string(line));
    }
    r.headers.emplace_back(std::string(line.substr(0, colon)),
                           std::string(trim(line.substr(colon + 1))));
  }
  if (r.status == 101 || r.status == 204 || r.status == 304 || head_only) {
    return r;  // no body, whatever the fields say (RFC 9112 6.3)
  }
  if (r.has_header("Content-Length")) {
    const std::string text = r.header("Content-Length");
    std::size_t length = 0;
    std::from_chars(text.data(), text.data() + text.size(), length);
    if (!read_until(socket, buffer, deadline,
                    [&](const std::string& b) { return b.size() >= length; })) {
      throw std::runtime_error("connection closed inside an HTTP body");
    }
    r.body = buffer.substr(0, length);
    buffer.erase(0, length);
  } else {
    read_until(socket, buffer, deadline, [](const std::string&) { return false; });
    r.body = std::move(buffer);
    buffer.clear();
  }
  return r;
}

http_response http_exchange(uint16_t port, std::string_view raw_request,
                            std::chrono::milliseconds timeout) {
  tcp_socket socket = tcp_socket::connect(port, timeout);
  socket.send_all(raw_request, timeout);
  std::string buffer;
  return read_http_response(socket, buffer, timeout);
}

http_response http_get(uint16_t port, std::string_view target, std::chrono::milliseconds timeout) {
  std::string request = "GET ";
  request += target;
  request += " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  return http_exchange(port, request, timeout);
}

}  // namespace wsa::test
