// Tests of the response writer: status lines, framing fields, extra headers, error bodies.
#include "http/response.h"

#include <gtest/gtest.h>

#include <string>

namespace wsa {
namespace {

// The body a response declares, checked against its Content-Length.
std::string body_of(const std::string& response) {
  const std::size_t end = response.find("\r\n\r\n");
  EXPECT_NE(end, std::string::npos);
  const std::string body = response.substr(end + 4);
  const std::size_t cl = response.find("Content-Length: ");
  EXPECT_NE(cl, std::string::npos);
  EXPECT_EQ(std::stoul(response.substr(cl + 16)), body.size());
  return body;
}

TEST(http_response, plain_response) {
  std::string out;
  append_response(out, 200, "text/plain; version=0.0.4", "up 1\n");
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
            "Content-Length: 5\r\n\r\nup 1\n");
}

TEST(http_response, appends_and_closes_and_adds_headers) {
  std::string out = "HTTP/1.1 100 Continue\r\n\r\n";
  append_response(out, 405, "", "", "Allow: GET\r\n", true);
  EXPECT_EQ(out,
            "HTTP/1.1 100 Continue\r\n\r\n"
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n"
            "Allow: GET\r\n\r\n");
}

TEST(http_response, no_content_has_no_framing_fields) {
  std::string out;
  append_response(out, 204, "application/json", "ignored");
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(http_response, reason_phrases) {
  for (int status :
       {101, 200, 204, 400, 401, 403, 404, 405, 408, 411, 413, 426, 429, 431, 500, 501, 503, 505}) {
    EXPECT_NE(reason_phrase(status), "Unknown") << status;
  }
  EXPECT_EQ(reason_phrase(426), "Upgrade Required");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(299), "Unknown");
  EXPECT_EQ(error_code(431), "header_too_large");
  EXPECT_EQ(error_code(503), "unavailable");
  EXPECT_EQ(error_code(299), "error");
}

TEST(http_response, error_body_is_json_with_the_reason) {
  std::string out;
  append_error_response(out, 400, "missing Sec-WebSocket-Key");
  EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n", 0), 0u);
  EXPECT_EQ(body_of(out), R"({"error":"bad_request","reason":"missing Sec-WebSocket-Key"})");

  out.clear();
  append_error_response(out, 401, "bad \"token\"\\\n\x01", "WWW-Authenticate: Bearer\r\n", true);
  EXPECT_NE(out.find("\r\nConnection: close\r\nWWW-Authenticate: Bearer\r\n\r\n"),
            std::string::npos);
  EXPECT_EQ(body_of(out), R"({"error":"unauthorized","reason":"bad \"token\"\\\u000a\u0001"})");

  out.clear();
  append_error_response(out, 426, "", "Sec-WebSocket-Version: 13\r\n");
  EXPECT_EQ(body_of(out), R"({"error":"upgrade_required","reason":""})");
}

TEST(http_response, connection_refusals_say_why) {
  std::string full;
  append_connection_refusal(full, false);
  EXPECT_EQ(full.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u);
  EXPECT_NE(full.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(body_of(full), R"({"error":"unavailable","reason":"connection limit reached"})");

  std::string draining;
  append_connection_refusal(draining, true);
  EXPECT_EQ(draining.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u);
  EXPECT_NE(draining.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(body_of(draining),
            R"({"error":"unavailable","reason":"draining: this node is shutting down, )"
            R"(connect to another"})");
}

}  // namespace
}  // namespace wsa
