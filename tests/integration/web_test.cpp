// The web side of `wsagent serve` over real sockets: --static DIR beside /ws and the admin
// endpoints (keep-alive, HEAD, 304, 404/405, nothing outside DIR, bad DIR refused), and
// --stats-tag (the node's counters published once a second, like any message).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/process_probe.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

namespace fs = std::filesystem;

class Web : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wsa_web_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ + "/site/chat");
    std::ofstream(root_ + "/site/index.html") << "<h1>apps</h1>";
    std::ofstream(root_ + "/site/chat/index.html") << "<p>chat</p>";
    std::ofstream(root_ + "/site/chat/app.js") << "export const app = 1;\n";
    std::ofstream(root_ + "/secret.txt") << "outside";
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string root_;
};

TEST_F(Web, StaticFilesBesideTheWebSocketAndAdminEndpoints) {
  server_process server({"--no-auth", "--static", root_ + "/site"});
  ASSERT_TRUE(server.start());
  EXPECT_TRUE(server.wait_for_log("msg=\"static files\""));

  // Several requests, with answers of every kind, on one keep-alive connection.
  tcp_socket s = tcp_socket::connect(server.port());
  std::string buffer;
  s.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const http_response home = read_http_response(s, buffer);
  EXPECT_EQ(home.status, 200);
  EXPECT_EQ(home.body, "<h1>apps</h1>");
  EXPECT_EQ(home.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(home.header("Cache-Control"), "no-cache");
  const std::string etag = home.header("ETag");
  ASSERT_FALSE(etag.empty());

  s.send_all("GET /chat/app.js HTTP/1.1\r\nHost: x\r\n\r\n");
  const http_response script = read_http_response(s, buffer);
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(script.body, "export const app = 1;\n");

  s.send_all("GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag + "\r\n\r\n");
  EXPECT_EQ(read_http_response(s, buffer).status, 304);
  s.send_all("HEAD /chat/ HTTP/1.1\r\nHost: x\r\n\r\n");
  const http_response head = read_http_response(s, buffer, 5s, /*head_only=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), "11");
  s.send_all("GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_http_response(s, buffer).status, 404);
  s.send_all("GET /chat HTTP/1.1\r\nHost: x\r\n\r\n");
  const http_response moved = read_http_response(s, buffer);
  EXPECT_EQ(moved.status, 301);
  EXPECT_EQ(moved.header("Location"), "/chat/");
  s.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_http_response(s, buffer).status, 200);
  s.send_all("PUT /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  const http_response refused = read_http_response(s, buffer);
  EXPECT_EQ(refused.status, 405);
  EXPECT_EQ(refused.header("Allow"), "GET, HEAD");
  EXPECT_TRUE(s.wait_eof(2s));

  // Nothing outside the directory, however the path is spelled.
  for (std::string_view target : {"/../secret.txt", "/%2e%2e/secret.txt", "/chat/../../secret.txt",
                                  "/..%2fsecret.txt"}) {
    EXPECT_EQ(http_get(server.port(), target).status, 404) << target;
  }
  // The WebSocket endpoint still answers.
  ws_client client = ws_client::connect(server.port());
  EXPECT_EQ(client.hello().op(), "hello");
}

TEST_F(Web, ReadersThatDoNotReadShareOneCopyOfAFile) {
  // 40 clients ask for an 8 MiB file and never read: each holds the answer in the server,
  // by reference to one copy, not 40 copies (320 MiB).
  std::ofstream(root_ + "/site/big.bin") << std::string(8 << 20, 'b');
  server_process server({"--no-auth", "--static", root_ + "/site"});
  ASSERT_TRUE(server.start());
  const int64_t before = rss_kib(server.pid());
  std::vector<tcp_socket> readers;
  for (int i = 0; i < 40; ++i) {
    readers.push_back(tcp_socket::connect(server.port()));
    readers.back().send_all("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  // The server has taken every request once a later request on a fresh connection is answered.
  EXPECT_EQ(http_get(server.port(), "/healthz").status, 200);
  const int64_t grown_kib = rss_kib(server.pid()) - before;
  EXPECT_LT(grown_kib, 4 * 8 * 1024) << "RSS grew by " << grown_kib << " KiB";
  // And each of them does get the whole file once it reads.
  std::string buffer;
  const http_response answer = read_http_response(readers.front(), buffer, 10s);
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body.size(), std::size_t{8} << 20);
}

TEST_F(Web, WithoutStaticUnknownPathsAre404) {
  server_process server({"--no-auth"});
  ASSERT_TRUE(server.start());
  EXPECT_EQ(http_get(server.port(), "/").status, 404);
  EXPECT_EQ(http_get(server.port(), "/index.html").status, 404);
}

TEST_F(Web, AStaticDirectoryThatCannotBeServedStopsTheStart) {
  server_process missing({"--no-auth", "--static", root_ + "/nope"});
  EXPECT_FALSE(missing.start(5s));
  EXPECT_EQ(missing.wait_exit(5s), 2);
  EXPECT_NE(missing.log().find("not a directory"), std::string::npos) << missing.log();

  std::ofstream(root_ + "/site/huge.bin") << std::string((16 << 20) + 1, 'x');
  server_process huge({"--no-auth", "--static", root_ + "/site"});
  EXPECT_FALSE(huge.start(10s));
  EXPECT_EQ(huge.wait_exit(5s), 2);
  EXPECT_NE(huge.log().find("huge.bin is larger than"), std::string::npos) << huge.log();
}

TEST_F(Web, StatsTagCarriesTheNodesCountersOnceASecond) {
  server_process server({"--no-auth", "--shards", "2", "--node-id", "stats-node", "--stats-tag",
                         "sys.wsagent.stats"});
  ASSERT_TRUE(server.start());
  ws_client client = ws_client::connect(server.port());
  const json_message ok =
      client.call(R"({"op":"sub","id":1,"tags":["sys.wsagent.stats"]})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  const json_message first = client.wait_for("msg", 5s);
  const json_message second = client.wait_for("msg", 5s);
  EXPECT_EQ(second.u64("/seq"), first.u64("/seq") + 1);
  EXPECT_EQ(first.str("/data/node"), "stats-node");
  EXPECT_EQ(first.u64("/data/shards"), 2u);
  EXPECT_EQ(first.size("/data/per_shard"), 2u);
  // Published once a second (the reports' own clock; loose bounds, never a wall-clock test).
  const int64_t apart = second.i64("/data/ts") - first.i64("/data/ts");
  EXPECT_GE(apart, 900);
  // This very connection is counted, and its subscription and frames.
  EXPECT_GE(second.u64("/data/total/websockets"), 1u);
  EXPECT_GE(second.u64("/data/total/subscriptions"), 1u);
  EXPECT_GE(second.u64("/data/total/messages_in"), 1u);
  EXPECT_GE(second.u64("/data/total/bytes_out"), first.u64("/data/total/bytes_out"));
  EXPECT_EQ(second.u64("/data/total/connections"),
            second.u64("/data/per_shard/0/connections") + second.u64("/data/per_shard/1/connections"));
}

TEST_F(Web, StatsTagMustBeAnExactTag) {
  server_process server({"--no-auth", "--stats-tag", "sys.*"});
  EXPECT_FALSE(server.start(5s));
  EXPECT_EQ(server.wait_exit(5s), 2);
  EXPECT_NE(server.log().find("not an exact tag"), std::string::npos) << server.log();
}

}  // namespace
}  // namespace wsa::test
