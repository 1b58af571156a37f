// Tests of the RFC 6455 server handshake: the accept key vector, every refusal with its status
// and headers, subprotocol selection and the 101 response.
#include "http/websocket_handshake.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace wsa {
namespace {

struct handshake_case {
  std::string method = "GET";
  std::string version = "HTTP/1.1";
  std::string host = "Host: example.com\r\n";
  std::string upgrade = "Upgrade: websocket\r\n";
  std::string connection = "Connection: Upgrade\r\n";
  std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  std::string ws_version = "Sec-WebSocket-Version: 13\r\n";
  std::string extra;

  std::string text() const {
    return method + " /ws " + version + "\r\n" + host + upgrade + connection + key + ws_version +
           extra + "\r\n";
  }
};

// Parses the request (which must be valid HTTP) and checks it as an upgrade.
upgrade_check check(const handshake_case& c, std::string& storage) {
  storage = c.text();
  http_request r;
  const parse_result res = parse_request(storage, 8192, r);
  EXPECT_EQ(res.status, parse_status::complete) << storage;
  return check_upgrade(r);
}

TEST(websocket_handshake, rfc6455_accept_key) {
  const auto accept = accept_key("dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(std::string_view(accept.data(), accept.size()), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  // A second vector, computed independently (python: base64(sha1(key + GUID))).
  const auto other = accept_key("x3JJHMbDL1EzLkh9GBhXDw==");
  EXPECT_EQ(std::string_view(other.data(), other.size()), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST(websocket_handshake, accepts_a_valid_upgrade) {
  std::string s;
  handshake_case c;
  upgrade_check u = check(c, s);
  EXPECT_TRUE(u.ok());
  EXPECT_EQ(u.status, 101);
  EXPECT_FALSE(u.select_subprotocol);

  c.connection = "Connection: keep-alive, Upgrade\r\n";
  c.upgrade = "Upgrade: WebSocket\r\n";
  EXPECT_TRUE(check(c, s).ok());
}

TEST(websocket_handshake, refusals) {
  std::string s;
  {
    handshake_case c;
    c.method = "POST";
    const upgrade_check u = check(c, s);
    EXPECT_EQ(u.status, 405);
    EXPECT_EQ(u.extra_headers, "Allow: GET\r\n");
  }
  {
    handshake_case c;
    c.method = "get";  // methods are case-sensitive
    EXPECT_EQ(check(c, s).status, 405);
  }
  {
    handshake_case c;
    c.version = "HTTP/1.0";
    EXPECT_EQ(check(c, s).status, 400);
  }
  {
    handshake_case c;
    c.upgrade = "";
    const upgrade_check u = check(c, s);
    EXPECT_EQ(u.status, 426);
    EXPECT_NE(u.extra_headers.find("Upgrade: websocket\r\n"), std::string_view::npos);
  }
  {
    handshake_case c;
    c.upgrade = "Upgrade: h2c\r\n";
    EXPECT_EQ(check(c, s).status, 426);
  }
  {
    handshake_case c;
    c.connection = "Connection: keep-alive\r\n";
    EXPECT_EQ(check(c, s).status, 426);
  }
  {
    handshake_case c;
    c.connection = "";
    EXPECT_EQ(check(c, s).status, 426);
  }
  for (const char* version :
       {"", "Sec-WebSocket-Version: 8\r\n", "Sec-WebSocket-Version: 13, 8\r\n",
        "Sec-WebSocket-Version: 013\r\n"}) {
    handshake_case c;
    c.ws_version = version;
    const upgrade_check u = check(c, s);
    EXPECT_EQ(u.status, 426) << version;
    EXPECT_EQ(u.extra_headers, "Sec-WebSocket-Version: 13\r\n");
  }
  for (const char* key : {"", "Sec-WebSocket-Key: \r\n",
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n",      // no padding
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n",     // 23 chars
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\n",        // 12 bytes
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==AA\r\n",  // too long
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n",    // not canonical
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j-Q==\r\n",    // base64url
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub2=jZQ==\r\n",
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==!\r\n"}) {
    handshake_case c;
    c.key = key;
    const upgrade_check u = check(c, s);
    EXPECT_EQ(u.status, 400) << key;
    EXPECT_FALSE(u.reason.empty());
  }
}

TEST(websocket_handshake, missing_host_in_a_hand_built_request) {
  // The parser already refuses HTTP/1.1 without Host; check_upgrade must not rely on that.
  http_request r;
  r.method = "GET";
  r.upgrade.values[r.upgrade.count++] = "websocket";
  r.connection.values[r.connection.count++] = "upgrade";
  r.sec_websocket_version = "13";
  r.sec_websocket_key = "dGhlIHNhbXBsZSBub25jZQ==";
  EXPECT_EQ(check_upgrade(r).status, 400);
  r.has_host = true;
  EXPECT_TRUE(check_upgrade(r).ok());
}

TEST(websocket_handshake, selects_the_subprotocol_only_when_offered) {
  std::string s;
  handshake_case c;
  c.extra = "Sec-WebSocket-Protocol: chat, wsagent.v1\r\n";
  EXPECT_TRUE(check(c, s).select_subprotocol);
  c.extra = "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: wsagent.v1\r\n";
  EXPECT_TRUE(check(c, s).select_subprotocol);
  c.extra = "Sec-WebSocket-Protocol: wsagent.v1\r\n";
  EXPECT_TRUE(check(c, s).select_subprotocol);
  c.extra = "Sec-WebSocket-Protocol: chat, wsagent.v2\r\n";
  EXPECT_FALSE(check(c, s).select_subprotocol);
  c.extra = "Sec-WebSocket-Protocol: WSAGENT.V1\r\n";  // exact match: we would echo another name
  EXPECT_FALSE(check(c, s).select_subprotocol);
  c.extra = "Sec-WebSocket-Protocol: wsagent.v1x\r\n";
  EXPECT_FALSE(check(c, s).select_subprotocol);
}

TEST(websocket_handshake, switching_protocols_response) {
  const auto accept = accept_key("dGhlIHNhbXBsZSBub25jZQ==");
  std::string out = "prefix";
  build_switching_protocols(out, std::string_view(accept.data(), accept.size()), false);
  EXPECT_EQ(out,
            "prefixHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  out.clear();
  build_switching_protocols(out, std::string_view(accept.data(), accept.size()), true);
  EXPECT_EQ(out,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Protocol: wsagent.v1\r\n\r\n");
}

}  // namespace
}  // namespace wsa
