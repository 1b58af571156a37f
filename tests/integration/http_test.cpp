// HTTP on the WebSocket port (docs/protocol.md "HTTP on the same port", docs/protocol.md "HTTP"):
// the admin endpoints, refused requests and upgrades with their status codes, limits on the
// request head (size, time, connection count).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/frame_codec.h"
#include "support/http_client.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

constexpr std::string_view good_key = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 1.3

std::string upgrade_request(std::string_view method = "GET", std::string_view version = "1.1",
                            std::string_view headers =
                                "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Version: 13\r\n",
                            std::string_view key = good_key) {
  std::string r = std::string(method) + " /ws HTTP/" + std::string(version) + "\r\n" +
                  std::string(headers);
  if (!key.empty()) {
    r += "Sec-WebSocket-Key: " + std::string(key) + "\r\n";
  }
  return r + "\r\n";
}

// metric name -> shard label -> value, for lines like  name{shard="0"} 12
std::map<std::string, std::map<std::string, uint64_t>> per_shard_metrics(const std::string& text) {
  std::map<std::string, std::map<std::string, uint64_t>> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const std::size_t brace = line.find("{shard=\"");
    if (line.empty() || line[0] == '#' || brace == std::string::npos) {
      continue;
    }
    const std::size_t label_end = line.find('"', brace + 8);
    const std::size_t space = line.rfind(' ');
    out[line.substr(0, brace)][line.substr(brace + 8, label_end - brace - 8)] =
        std::stoull(line.substr(space + 1));
  }
  return out;
}

uint64_t sum(const std::map<std::string, uint64_t>& by_shard) {
  uint64_t total = 0;
  for (const auto& [shard, value] : by_shard) {
    total += value;
  }
  return total;
}

class Http : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()); }
  uint16_t port() const { return server_.port(); }

  server_process server_{{"--no-auth", "--shards", "2", "--handshake-timeout", "300ms",
                          "--max-header-bytes", "2KiB", "--max-connections", "40"}};
};

TEST_F(Http, HealthzAndReadyz) {
  const http_response health = http_get(port(), "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_NE(health.body.find("ok"), std::string::npos) << health.body;
  const http_response ready = http_get(port(), "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
}

TEST_F(Http, MetricsArePrometheusTextWithPerShardCounters) {
  ws_client sub = ws_client::connect(port());
  ASSERT_EQ(sub.call(R"({"op":"sub","id":1,"tags":["m"]})").op(), "ok");
  sub.send_text(R"({"op":"pub","tag":"m","data":1})");
  ASSERT_EQ(sub.wait_for("msg").u64("/seq"), 1u);

  const http_response r = http_get(port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.header("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE wsagent_publishes_total counter"), std::string::npos);
  const auto metrics = per_shard_metrics(r.body);
  for (const char* name : {"wsagent_connections", "wsagent_websockets",
                           "wsagent_connections_accepted_total", "wsagent_publishes_total",
                           "wsagent_deliveries_total", "wsagent_messages_in_total",
                           "wsagent_subscriptions", "wsagent_http_requests_total"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(metrics.contains(name)) << r.body;
    EXPECT_EQ(metrics.at(name).size(), 2u) << "one series per shard";
    EXPECT_TRUE(metrics.at(name).contains("0") && metrics.at(name).contains("1"));
  }
  EXPECT_EQ(sum(metrics.at("wsagent_websockets")), 1u);
  EXPECT_EQ(sum(metrics.at("wsagent_publishes_total")), 1u);
  EXPECT_EQ(sum(metrics.at("wsagent_deliveries_total")), 1u);
  EXPECT_EQ(sum(metrics.at("wsagent_subscriptions")), 1u);
  EXPECT_GE(sum(metrics.at("wsagent_messages_in_total")), 2u);
}

TEST_F(Http, KeepAliveServesSeveralRequestsOnOneConnection) {
  tcp_socket s = tcp_socket::connect(port());
  std::string buffer;
  for (int i = 0; i < 3; ++i) {
    s.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(read_http_response(s, buffer).status, 200);
  }
}

TEST_F(Http, PipelinedRequestsGetOneResponseEachInOrder) {
  tcp_socket s = tcp_socket::connect(port());
  s.send_all(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string buffer;
  EXPECT_EQ(read_http_response(s, buffer).status, 200);
  EXPECT_EQ(read_http_response(s, buffer).status, 404);
  EXPECT_TRUE(s.wait_eof(2s)) << "an error response should close the connection";
}

TEST_F(Http, AmbiguousMessageFramingIsRefused) {
  // RFC 9112 6.3: Content-Length with Transfer-Encoding, or differing Content-Lengths, are
  // how requests get smuggled; the server must not guess.
  EXPECT_EQ(http_exchange(port(),
                          "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                .status,
            400);
  EXPECT_EQ(http_exchange(port(),
                          "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                          "Content-Length: 2\r\n\r\nab")
                .status,
            400);
  EXPECT_EQ(http_exchange(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n").status,
            400);
  EXPECT_EQ(
      http_exchange(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n")
          .status,
      400);  // obsolete line folding (RFC 9112 5.2)
  const int chunked = http_exchange(port(),
                                    "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                          .status;
  EXPECT_TRUE(chunked == 400 || chunked == 501) << chunked;
}

TEST_F(Http, SubprotocolIsSelectedOnlyWhenOffered) {
  ws_client listed = ws_client::connect(
      port(), {.offer_subprotocol = false,
               .extra_headers = {"Sec-WebSocket-Protocol: chat, wsagent.v1"}});
  EXPECT_EQ(listed.handshake_response().header("Sec-WebSocket-Protocol"), "wsagent.v1");
  // RFC 6455 4.2.2: never a subprotocol the client did not offer.
  ws_client other = ws_client::connect(
      port(), {.offer_subprotocol = false, .extra_headers = {"Sec-WebSocket-Protocol: chat"}});
  EXPECT_FALSE(other.handshake_response().has_header("Sec-WebSocket-Protocol"));
  // The query string is not part of the path.
  ws_client query = ws_client::connect(port(), {.query = "x=1&y=%20"});
  EXPECT_EQ(query.hello().op(), "hello");
}

TEST_F(Http, ExtensionsAreNotNegotiated) {
  // No extension is implemented, so none may be accepted (RFC 6455 9.1): RSV1 stays a
  // protocol error (see WebSocket.RsvBitsWithoutExtensionClose1002).
  ws_client c = ws_client::connect(
      port(), {.extra_headers = {"Sec-WebSocket-Extensions: permessage-deflate; "
                                 "client_max_window_bits"}});
  EXPECT_FALSE(c.handshake_response().has_header("Sec-WebSocket-Extensions"));
  EXPECT_EQ(c.call(R"({"op":"ping","id":1})").op(), "ok");
}

TEST_F(Http, GarbageRequestGets400) {
  const http_response r = http_exchange(port(), "\x16\x03\x01\x02 hello there\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(http_exchange(port(), "GET\r\n\r\n").status, 400);
  // RFC 9110 15.6.6: a major version the server does not speak may get 505.
  const int status = http_exchange(port(), "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n").status;
  EXPECT_TRUE(status == 400 || status == 505) << status;
}

TEST_F(Http, UnknownPathGets404) {
  EXPECT_EQ(http_get(port(), "/nope").status, 404);
  EXPECT_EQ(http_get(port(), "/").status, 404);
}

TEST_F(Http, WrongMethodGets405WithAllow) {
  const http_response r =
      http_exchange(port(), "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET");
  EXPECT_EQ(http_exchange(port(), "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n").status, 405);
  EXPECT_EQ(http_exchange(port(), upgrade_request("POST")).status, 405);
}

TEST_F(Http, RefusedUpgradesGet400Or426) {
  struct refusal {
    std::string what;
    std::string request;
    int status;
  };
  const std::vector<refusal> refusals = {
      {"HTTP/1.0", upgrade_request("GET", "1.0"), 400},
      {"no Host", upgrade_request("GET", "1.1",
                                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                  "Sec-WebSocket-Version: 13\r\n"),
       400},
      {"no key", upgrade_request("GET", "1.1",
                                 "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Version: 13\r\n",
                                 ""),
       400},
      {"short key", upgrade_request("GET", "1.1",
                                    "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Version: 13\r\n",
                                    "c2hvcnQ="),
       400},
      {"no Upgrade", upgrade_request("GET", "1.1",
                                     "Host: x\r\nConnection: Upgrade\r\n"
                                     "Sec-WebSocket-Version: 13\r\n"),
       426},
      {"no Connection: upgrade", upgrade_request("GET", "1.1",
                                                 "Host: x\r\nUpgrade: websocket\r\n"
                                                 "Connection: keep-alive\r\n"
                                                 "Sec-WebSocket-Version: 13\r\n"),
       426},
      {"version 8", upgrade_request("GET", "1.1",
                                    "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Version: 8\r\n"),
       426},
      {"no version", upgrade_request("GET", "1.1",
                                     "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"),
       426},
  };
  for (const refusal& r : refusals) {
    SCOPED_TRACE(r.what);
    const http_response response = http_exchange(port(), r.request);
    EXPECT_EQ(response.status, r.status) << response.body;
    if (r.what.starts_with("version") || r.what == "no version") {
      // RFC 6455 4.4: the refusal names the versions the server speaks.
      EXPECT_EQ(response.header("Sec-WebSocket-Version"), "13");
    }
  }
  // The same request with every header right upgrades (and tokens in lists are matched).
  const http_response ok = http_exchange(
      port(), upgrade_request("GET", "1.1",
                              "Host: x\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
                              "Sec-WebSocket-Version: 13\r\n"));
  EXPECT_EQ(ok.status, 101);
  EXPECT_EQ(ok.header("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_F(Http, HeaderLargerThanTheLimitGets431) {
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: " +
                              std::string(3000, 'f') + "\r\n\r\n";
  tcp_socket s = tcp_socket::connect(port());
  // The server may answer and close before it read everything: a reset is fine here.
  s.try_send_all(request);
  std::string buffer;
  const http_response r = read_http_response(s, buffer);
  EXPECT_EQ(r.status, 431);
}

TEST_F(Http, HeadGrowingPastTheLimitInPiecesGets431) {
  tcp_socket s = tcp_socket::connect(port());
  s.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  std::string buffer;
  bool answered = false;
  for (int i = 0; i < 8 && !answered; ++i) {  // 8 x 600 bytes: past 2 KiB halfway
    if (!s.try_send_all("X-Filler-" + std::to_string(i) + ": " + std::string(580, 'f') + "\r\n")) {
      break;  // the server answered and closed already
    }
    answered = s.read_some(buffer, 20ms) == tcp_socket::read_status::data;
  }
  EXPECT_EQ(read_http_response(s, buffer).status, 431);
}

TEST_F(Http, HandshakeArrivingByteByByteUpgrades) {
  tcp_socket s = tcp_socket::connect(port());
  const std::string request =
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  for (const char byte : request) {
    s.send_all(std::string(1, byte));
  }
  std::string buffer;
  const http_response r = read_http_response(s, buffer);
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.header("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_F(Http, UpgradeAfterAKeepAliveRequestAndABody) {
  tcp_socket s = tcp_socket::connect(port());
  // A body on a GET is read and skipped; then the same connection upgrades.
  s.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
             "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  std::string buffer;
  EXPECT_EQ(read_http_response(s, buffer).status, 200);
  EXPECT_EQ(read_http_response(s, buffer).status, 101);
  while (buffer.find("hello") == std::string::npos &&
         s.read_some(buffer, 2s) == tcp_socket::read_status::data) {
  }
  ws_frame hello;
  ASSERT_GT(decode_frame(buffer, hello), 0u) << "no hello after the upgrade";
  EXPECT_NE(hello.payload.find("\"op\":\"hello\""), std::string::npos) << hello.payload;
}

TEST_F(Http, StalledHandshakeIsClosedAfterTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  tcp_socket partial = tcp_socket::connect(port());
  partial.send_all("GET /ws HTTP/1.1\r\nHost: x\r\n");
  tcp_socket silent = tcp_socket::connect(port());

  std::string received;
  ASSERT_TRUE(partial.wait_eof(3s, &received)) << "a stalled handshake was not closed";
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 250ms);
  EXPECT_NE(received.find(" 408 "), std::string::npos) << received;
  EXPECT_TRUE(silent.wait_eof(3s)) << "a silent connection was not closed";
  // The server is still fine.
  EXPECT_EQ(http_get(port(), "/healthz").status, 200);
}

TEST_F(Http, ConnectionsOverTheLimitGet503) {
  std::vector<ws_client> clients;
  for (int i = 0; i < 40; ++i) {
    clients.push_back(ws_client::connect(port()));
  }
  const http_response refused = http_get(port(), "/healthz");
  EXPECT_EQ(refused.status, 503);
  clients.back().send_close(1000);
  ASSERT_TRUE(clients.back().wait_eof());
  clients.pop_back();  // our FIN ends the server's lingering close
  // The server's count drops once it sees the FIN: retry for a bounded time.
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  int status = 0;
  while (status != 200 && std::chrono::steady_clock::now() < deadline) {
    status = http_get(port(), "/healthz").status;
  }
  EXPECT_EQ(status, 200);
}

std::string api_publish(std::string_view tag, std::string_view data,
                        std::string_view extra_headers = "") {
  const std::string body = R"({"tag":")" + std::string(tag) + R"(","data":)" +
                           std::string(data) + "}";
  return "POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         std::string(extra_headers) + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

TEST_F(Http, ApiPublishKeepsTheConnectionAndAnswersPipelinedRequestsInOrder) {
  ws_client sub = ws_client::connect(port());
  ASSERT_EQ(sub.call(R"({"op":"sub","id":1,"tags":["api.a","api.b"]})").op(), "ok");
  tcp_socket s = tcp_socket::connect(port());
  std::string buffer;
  // One at a time on a kept connection; a body that arrives after its head.
  s.send_all(api_publish("api.a", "1"));
  http_response r = read_http_response(s, buffer);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.body.starts_with("{\"seq\":1,\"ts\":")) << r.body;
  const std::string second = api_publish("api.a", "2");
  const std::size_t head_end = second.find("\r\n\r\n") + 4;
  s.send_all(second.substr(0, head_end));
  s.send_all(second.substr(head_end));
  r = read_http_response(s, buffer);
  EXPECT_TRUE(r.body.starts_with("{\"seq\":2,\"ts\":")) << r.body;
  // Pipelined in one write, to tags owned by either shard, then another endpoint and a
  // last publish that closes: answers in request order.
  s.send_all(api_publish("api.b", "3") + api_publish("api.a", "4") + api_publish("api.b", "5") +
             "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
             api_publish("api.a", "6", "Connection: close\r\n"));
  for (const char* want : {"{\"seq\":1,\"ts\":", "{\"seq\":3,\"ts\":", "{\"seq\":2,\"ts\":"}) {
    r = read_http_response(s, buffer);
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body.starts_with(want)) << r.body;
  }
  r = read_http_response(s, buffer);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("ok"), std::string::npos) << "healthz, in its place: " << r.body;
  r = read_http_response(s, buffer);
  EXPECT_TRUE(r.body.starts_with("{\"seq\":4,\"ts\":")) << r.body;
  EXPECT_EQ(r.header("Connection"), "close");
  EXPECT_TRUE(s.wait_eof(5s));
  // Every one published, in order per tag.
  std::map<std::string, std::vector<std::string>> got;
  for (int k = 0; k < 6; ++k) {
    const json_message m = sub.next_json();
    got[m.str("/tag")].emplace_back(m.raw("data"));
  }
  EXPECT_EQ(got["api.a"], (std::vector<std::string>{"1", "2", "4", "6"}));
  EXPECT_EQ(got["api.b"], (std::vector<std::string>{"3", "5"}));
}

}  // namespace
}  // namespace wsa::test
