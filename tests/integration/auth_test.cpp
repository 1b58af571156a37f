// Token authentication against the real server (docs/protocol.md "Connecting", "Tokens", "HTTP on
// the same port"; issue 3): the server refuses to start without a key unless --no-auth; the
// three token transports; every refusal at the handshake is HTTP 401 without an upgrade;
// pub/sub permissions; expiry and refresh on an open connection; POST /api/publish.
//
// Tokens are made here without src/auth, so the server is checked against an independent
// minter: HS256 with nettle's HMAC (any claims, any header), hand-made tokens for the
// refusals that need no valid signature, and EdDSA through the binary's own `wsagent keygen`
// and `wsagent token` (the tools users run).
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/abuse.h"
#include "support/frame_codec.h"
#include "support/hs256_token.h"
#include "integration/redis_nodes.h"
#include "support/http_client.h"
#include "support/metrics_reader.h"
#include "support/process_probe.h"
#include "support/scratch_dir.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

// ---- Minting without src/auth (support/hs256_token.h) -------------------------------------

const std::string secret = "integration-test secret, comfortably longer than 32 bytes";
constexpr std::string_view hs_header = R"({"alg":"HS256","typ":"JWT"})";

std::string hs256_raw(std::string_view signing_input, std::string_view key = secret) {
  return test::hs256_raw(signing_input, key);
}
std::string hs256(std::string_view payload, std::string_view header = hs_header,
                  std::string_view key = secret) {
  return test::hs256(payload, key, header);
}

constexpr std::string_view all_perm = R"({"pub":[">"],"sub":[">"]})";

std::string claims(int64_t exp, std::string_view perm = all_perm, std::string_view extra = "",
                   std::string_view sub = "alice") {
  return claims_json(exp, perm, extra, sub);
}

// A good HS256 token valid for an hour with these permissions.
std::string hs_token(std::string_view perm = all_perm) {
  return hs256(claims(unix_now() + 3600, perm));
}

// RFC 8037 appendix A.2: a valid Ed25519 public key for JWKS files whose private half the
// tests never need (EdDSA tokens that must verify come from `wsagent token`).
constexpr std::string_view rfc8037_x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// ---- Files and the wsagent tools ----------------------------------------------------------

struct tool_output {
  int status = -1;
  std::string out;
};

// Runs `wsagent <args>` (no shell: words as given), stdout captured, stderr passed through.
tool_output run_wsagent(const std::vector<std::string>& args) {
  int pipe_fds[2];
  tool_output r;
  if (::pipe(pipe_fds) != 0) {
    return r;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    std::vector<char*> argv;
    std::string bin = WSAGENT_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) {
    r.out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// ---- HTTP helpers -------------------------------------------------------------------------

// A WebSocket upgrade request with extra header lines (each ending in CRLF).
http_response upgrade(uint16_t port, std::string_view target, std::string_view headers = "") {
  return http_exchange(port, "GET " + std::string(target) +
                                 " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Version: 13\r\n" +
                                 std::string(headers) + "\r\n");
}

http_response upgrade_with_query(uint16_t port, std::string_view token) {
  return upgrade(port, "/ws?token=" + percent_encode(token));
}
http_response upgrade_with_bearer(uint16_t port, std::string_view token) {
  return upgrade(port, "/ws", "Authorization: Bearer " + std::string(token) + "\r\n");
}

// Both handshake transports must refuse `token` with 401 and no upgrade.
void expect_refused_at_handshake(uint16_t port, std::string_view token, std::string_view name) {
  for (int via = 0; via < 2; ++via) {
    const http_response r =
        via == 0 ? upgrade_with_query(port, token) : upgrade_with_bearer(port, token);
    const char* how = via == 0 ? "?token=" : "Bearer";
    EXPECT_EQ(r.status, 401) << name << " via " << how << ": " << r.status << " " << r.body;
    EXPECT_FALSE(r.has_header("Upgrade")) << name << " via " << how;
    EXPECT_TRUE(r.has_header("WWW-Authenticate")) << name << " via " << how;
  }
}

http_response post_publish(uint16_t port, std::string_view body, std::string_view auth_header) {
  std::string req = "POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!auth_header.empty()) {
    req += "Authorization: " + std::string(auth_header) + "\r\n";
  }
  req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + std::string(body);
  return http_exchange(port, req);
}

ws_options with_query(std::string_view token) {
  ws_options o;
  o.query = "token=" + percent_encode(token);
  return o;
}
ws_options with_bearer(std::string_view token) {
  ws_options o;
  o.extra_headers = {"Authorization: Bearer " + std::string(token)};
  return o;
}

// ---- Fixture ------------------------------------------------------------------------------

class Auth : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    jwks_ = dir_.write("jwks.json", R"({"keys":[{"kty":"OKP","crv":"Ed25519","kid":"rfc","x":")" +
                                        std::string(rfc8037_x) + "\"}]}",
                       0644);
    secret_file_ = dir_.write("secret", secret + "\n");
  }

  // --jwks (one Ed25519 key, kid "rfc") and --hmac-secret-file, plus `extra`.
  std::vector<std::string> keys(std::vector<std::string> extra = {}) const {
    std::vector<std::string> a = {"--jwks", jwks_, "--hmac-secret-file", secret_file_};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // `wsagent keygen` into the scratch directory; the JWKS path.
  std::string keygen(std::string_view name, std::string_view kid) {
    const std::string priv = dir_.file(std::string(name) + ".jwk");
    const std::string jwks = dir_.file(std::string(name) + ".jwks.json");
    const tool_output r =
        run_wsagent({"keygen", "--out-private", priv, "--out-jwks", jwks, "--kid", std::string(kid)});
    EXPECT_EQ(r.status, 0) << "wsagent keygen failed: " << r.out;
    return jwks;
  }

  // `wsagent token --key <name>.jwk ...`: the token without its newline.
  std::string eddsa_token(std::string_view name, std::vector<std::string> extra) {
    std::vector<std::string> a = {"token", "--key", dir_.file(std::string(name) + ".jwk")};
    a.insert(a.end(), extra.begin(), extra.end());
    const tool_output r = run_wsagent(a);
    EXPECT_EQ(r.status, 0) << "wsagent token failed: " << r.out;
    std::string t = r.out;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) {
      t.pop_back();
    }
    return t;
  }

  scratch_dir dir_;
  std::string jwks_;
  std::string secret_file_;
};

// ---- Startup ------------------------------------------------------------------------------

TEST_F(Auth, RefusesToStartWithoutAKeyUnlessNoAuth) {
  {
    server_process server({});
    EXPECT_FALSE(server.start(5s));
    EXPECT_EQ(server.wait_exit(5s), 2);
    EXPECT_NE(server.log().find("no key is configured"), std::string::npos) << server.log();
  }
  {
    // A refused start is a usage error (2) with its reason, never a crash (134, 139...).
    server_process server({"--jwks", dir_.file("missing.json")});
    EXPECT_FALSE(server.start(5s));
    EXPECT_EQ(server.wait_exit(5s), 2);
    EXPECT_NE(server.log().find(R"(msg="cannot load the JWKS")"), std::string::npos)
        << server.log();
    EXPECT_NE(server.log().find("No such file or directory"), std::string::npos)
        << server.log();
  }
  {
    // A JWKS with no usable Ed25519 key (only an RSA key) is no key at all.
    const std::string rsa_only = dir_.write(
        "rsa.json", R"({"keys":[{"kty":"RSA","kid":"r","n":"sXch","e":"AQAB","alg":"RS256"}]})");
    server_process server({"--jwks", rsa_only});
    EXPECT_FALSE(server.start(5s));
    EXPECT_EQ(server.wait_exit(5s), 2);
    EXPECT_NE(server.log().find("no usable Ed25519 key"), std::string::npos) << server.log();
  }
  {
    server_process server({"--no-auth"});
    ASSERT_TRUE(server.start());
    ws_client c = ws_client::connect(server.port());  // no token at all
    EXPECT_EQ(c.call(R"({"op":"pub","id":1,"tag":"any.tag","data":1})").op(), "ok");
    EXPECT_EQ(c.call(R"({"op":"sub","id":2,"tags":[">"]})").op(), "ok");
  }
}

// ---- Transports ---------------------------------------------------------------------------

TEST_F(Auth, TokenInAuthorizationHeader) {
  server_process server(keys());
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port(), with_bearer(hs_token()));
  EXPECT_EQ(c.call(R"({"op":"pub","id":1,"tag":"a.b","data":1})").op(), "ok");
  // The scheme is case-insensitive (RFC 7235).
  ws_options lower;
  lower.extra_headers = {"Authorization: bearer " + hs_token()};
  EXPECT_EQ(ws_client::connect(server.port(), lower).hello().op(), "hello");
}

TEST_F(Auth, TokenInQuery) {
  server_process server(keys());
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port(), with_query(hs_token()));
  EXPECT_EQ(c.call(R"({"op":"pub","id":1,"tag":"a.b","data":1})").op(), "ok");
}

TEST_F(Auth, HeaderWinsOverQuery) {
  server_process server(keys());
  ASSERT_TRUE(server.start());
  const std::string good = hs_token();
  const std::string bad = good.substr(0, good.size() - 2) + "AA";
  EXPECT_EQ(upgrade(server.port(), "/ws?token=" + bad, "Authorization: Bearer " + good + "\r\n")
                .status,
            101);
  EXPECT_EQ(upgrade(server.port(), "/ws?token=" + good, "Authorization: Bearer " + bad + "\r\n")
                .status,
            401);
  // Another scheme in the header is a refusal, not a fall back to the query.
  EXPECT_EQ(upgrade(server.port(), "/ws?token=" + good, "Authorization: Basic YTpi\r\n").status,
            401);
}

TEST_F(Auth, TokenInFirstAuthFrame) {
  server_process server(keys({"--auth-timeout", "2s"}));
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());  // hello first, then the auth frame
  EXPECT_EQ(c.hello().op(), "hello");
  const json_message ok = c.call(R"({"op":"auth","id":"a1","token":")" + hs_token() + "\"}");
  EXPECT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_EQ(c.call(R"({"op":"pub","id":1,"tag":"a.b","data":1})").op(), "ok");
  // Authenticated: the auth timeout no longer applies.
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(c.call(R"({"op":"ping","id":2})").op(), "ok");
}

TEST_F(Auth, NoAuthFrameWithinTheTimeoutCloses4001) {
  server_process server(keys({"--auth-timeout", "300ms"}));
  ASSERT_TRUE(server.start());
  const auto start = std::chrono::steady_clock::now();
  ws_client c = ws_client::connect(server.port());
  const ws_message close = c.wait_close(10s);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(close.close_code, 4001);
  EXPECT_EQ(close.close_reason, "authentication timeout");
  EXPECT_GE(waited, 250ms) << "closed before the auth timeout";
  EXPECT_EQ(metric_sum(server.port(), "wsagent_auth_timeouts_total"), 1u);
}

TEST_F(Auth, FirstFrameOtherThanAuthOrABadAuthTokenCloses4001) {
  server_process server(keys());
  ASSERT_TRUE(server.start());
  {
    ws_client c = ws_client::connect(server.port());
    c.send_text(R"({"op":"pub","id":1,"tag":"a","data":1})");
    const json_message err = c.next_json();
    EXPECT_EQ(err.op(), "err");
    EXPECT_EQ(err.str("/code"), "unauthorized");
    EXPECT_EQ(c.wait_close().close_code, 4001);
  }
  {
    ws_client c = ws_client::connect(server.port());
    const std::string expired = hs256(claims(unix_now() - 3600));
    c.send_text(R"({"op":"auth","id":1,"token":")" + expired + "\"}");
    const json_message err = c.next_json();
    EXPECT_EQ(err.op(), "err");
    EXPECT_EQ(err.str("/code"), "unauthorized");
    EXPECT_EQ(c.wait_close().close_code, 4001);
  }
}

// ---- Every refusal at the handshake -------------------------------------------------------

TEST_F(Auth, EveryBadTokenGets401AtTheHandshake) {
  server_process server(keys({"--token-leeway", "30s", "--max-token-bytes", "1024"}));
  ASSERT_TRUE(server.start());
  const uint16_t port = server.port();
  const int64_t now = unix_now();
  const std::string good_claims = claims(now + 3600);
  const std::string good = hs256(good_claims);
  const std::string h = b64url(hs_header);
  const std::string p = b64url(good_claims);
  const std::string sig = good.substr(good.rfind('.') + 1);
  const std::string junk_sig = b64url(std::string(64, '\x5a'));  // 64 bytes, like Ed25519's

  // The control: the same server accepts the good token both ways.
  EXPECT_EQ(upgrade_with_query(port, good).status, 101);
  EXPECT_EQ(upgrade_with_bearer(port, good).status, 101);

  struct bad {
    const char* name;
    std::string token;
  };
  std::string big_perm = R"({"pub":[)";
  for (int i = 0; i < 60; ++i) {
    big_perm += (i == 0 ? "\"" : ",\"") + std::string("tag.number.") + std::to_string(i) + "\"";
  }
  big_perm += "]}";
  const std::string oversize = hs256(claims(now + 3600, big_perm));
  ASSERT_GT(oversize.size(), 1024u);

  const std::vector<bad> cases = {
      {"alg none, no signature", b64url(R"({"alg":"none"})") + "." + p + "."},
      {"alg none with a signature", b64url(R"({"alg":"none"})") + "." + p + "." + sig},
      {"alg HS512", hs256(good_claims, R"({"alg":"HS512"})")},
      {"alg RS256", b64url(R"({"alg":"RS256","kid":"rfc"})") + "." + p + "." + junk_sig},
      {"alg ES256", b64url(R"({"alg":"ES256"})") + "." + p + "." + junk_sig},
      {"HS256 bad signature", h + "." + p + "." + sig.substr(0, sig.size() - 3) + "AAA"},
      {"HS256 other secret", hs256(good_claims, hs_header, "another secret of plenty bytes")},
      {"HS256 payload changed", h + "." + b64url(claims(now + 7200)) + "." + sig},
      {"EdDSA bad signature", b64url(R"({"alg":"EdDSA","kid":"rfc"})") + "." + p + "." + junk_sig},
      {"EdDSA unknown kid", b64url(R"({"alg":"EdDSA","kid":"nobody"})") + "." + p + "." + junk_sig},
      {"base64url padding", h + "=." + p + "." + sig},
      {"base64 standard alphabet", hs256_raw("+" + h.substr(1) + "." + p)},
      {"bad base64url in payload", hs256_raw(h + "." + p + "*")},
      {"header not JSON", hs256("x" + good_claims, "{\"alg\":\"HS256\"")},
      {"claims not JSON", hs256(good_claims.substr(0, good_claims.size() - 1))},
      {"claims an array", hs256("[1,2]")},
      {"two parts", h + "." + p},
      {"four parts", good + ".x"},
      {"empty", ""},
      {"garbage", "not a token at all"},
      {"expired", hs256(claims(now - 3600))},
      {"expired beyond the leeway", hs256(claims(now - 40))},
      {"nbf in the future", hs256(claims(now + 7200, all_perm, ",\"nbf\":" + std::to_string(now + 3600)))},
      {"no exp", hs256(R"({"sub":"alice","perm":{"pub":[">"]}})")},
      {"no sub", hs256("{\"exp\":" + std::to_string(now + 3600) + "}")},
      {"exp a string", hs256(R"({"sub":"alice","exp":"tomorrow"})")},
      {"bad perm pattern", hs256(claims(now + 3600, R"({"pub":["a..b"]})"))},
      {"crit header", hs256(good_claims, R"({"alg":"HS256","crit":["exp"]})")},
      {"oversize (valid but over --max-token-bytes)", oversize},
  };
  for (const bad& c : cases) {
    expect_refused_at_handshake(port, c.token, c.name);
  }

  // Within the leeway, expired and not-yet-valid tokens still pass.
  EXPECT_EQ(upgrade_with_bearer(port, hs256(claims(now - 5))).status, 101);
  EXPECT_EQ(upgrade_with_bearer(port, hs256(claims(now + 3600, all_perm,
                                                   ",\"nbf\":" + std::to_string(now + 5))))
                .status,
            101);
  // A repeated or empty ?token= is refused.
  EXPECT_EQ(upgrade(port, "/ws?token=" + good + "&token=" + good).status, 401);
  EXPECT_EQ(upgrade(port, "/ws?token=").status, 401);

  // The oversize token is refused for its size only: a server with the default limit takes it.
  server_process roomy(keys());
  ASSERT_TRUE(roomy.start());
  EXPECT_EQ(upgrade_with_bearer(roomy.port(), oversize).status, 101);
  // HS256 is refused when the server has no secret.
  server_process ed_only({"--jwks", jwks_});
  ASSERT_TRUE(ed_only.start());
  expect_refused_at_handshake(ed_only.port(), good, "HS256 without a configured secret");
}

TEST_F(Auth, EdDSATokensFromWsagentToken) {
  const std::string jwks = keygen("k1", "k1");
  const std::string t = eddsa_token("k1", {"--sub", "alice", "--pub", "chat.*", "--ttl", "1h"});
  ASSERT_FALSE(t.empty());
  server_process server({"--jwks", jwks});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port(), with_bearer(t));
  EXPECT_EQ(c.call(R"({"op":"pub","id":1,"tag":"chat.x","data":1})").op(), "ok");
  EXPECT_EQ(ws_client::connect(server.port(), with_query(t)).hello().op(), "hello");
  // Changing one signature character (still base64url) breaks it.
  std::string forged = t;
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  expect_refused_at_handshake(server.port(), forged, "EdDSA forged signature");
  // A key pair the server does not know, same kid.
  keygen("k1b", "k1");
  expect_refused_at_handshake(
      server.port(), eddsa_token("k1b", {"--sub", "alice", "--ttl", "1h"}), "other key, same kid");
}

TEST_F(Auth, RotationAcceptsEveryKeyOfTheJwks) {
  keygen("old", "2024");
  keygen("new", "2025");
  // One JWKS holding both public keys, as an operator would merge them.
  const auto key_of = [&](std::string_view name) {
    std::ifstream in(dir_.file(std::string(name) + ".jwks.json"));
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    const std::size_t open = text.find("[{");
    const std::size_t close = text.rfind("}]");
    return text.substr(open + 1, close - open);
  };
  const std::string both =
      dir_.write("both.json", "{\"keys\":[" + key_of("old") + "," + key_of("new") + "]}", 0644);
  server_process server({"--jwks", both});
  ASSERT_TRUE(server.start());
  for (const char* name : {"old", "new"}) {
    const std::string t = eddsa_token(name, {"--sub", "svc", "--ttl", "10m"});
    EXPECT_EQ(upgrade_with_bearer(server.port(), t).status, 101) << name;
  }
  // With two keys a token must name its key.
  const std::string t = eddsa_token("old", {"--sub", "svc", "--ttl", "10m"});
  const std::size_t dot = t.find('.');
  const std::string no_kid =
      b64url(R"({"alg":"EdDSA","typ":"JWT"})") + t.substr(dot);  // signature no longer fits
  expect_refused_at_handshake(server.port(), no_kid, "no kid with two keys");
}

// ---- Permissions --------------------------------------------------------------------------

TEST_F(Auth, PubOutsidePermIsForbidden) {
  server_process server(keys());
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(
      server.port(), with_bearer(hs_token(R"({"pub":["chat.*","news"],"sub":[]})")));
  EXPECT_EQ(c.call(R"({"op":"pub","id":1,"tag":"chat.lobby","data":1})").op(), "ok");
  EXPECT_EQ(c.call(R"({"op":"pub","id":2,"tag":"news","data":1})").op(), "ok");
  for (const char* tag : {"chat.a.b", "chat", "news.x", "other"}) {
    const json_message err =
        c.call(std::string(R"({"op":"pub","id":3,"tag":")") + tag + R"(","data":1})");
    EXPECT_EQ(err.op(), "err") << tag;
    EXPECT_EQ(err.str("/code"), "forbidden") << err.text();
    EXPECT_NE(err.str("/reason").find(tag), std::string::npos) << err.text();
  }
  // A forbidden pub without id still gets its err; the connection stays open.
  c.send_text(R"({"op":"pub","tag":"other","data":1})");
  EXPECT_EQ(c.next_json().str("/code"), "forbidden");
  EXPECT_EQ(c.call(R"({"op":"ping","id":9})").op(), "ok");
  // Subscribing needs perm.sub, which is empty.
  EXPECT_EQ(c.call(R"({"op":"sub","id":10,"tags":["chat.lobby"]})").str("/code"), "forbidden");
}

TEST_F(Auth, SubIsJudgedPerTagByCoverage) {
  server_process server(keys());
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(
      server.port(), with_bearer(hs_token(R"({"pub":[],"sub":["chat.room1","news.>"]})")));
  ws_client publisher = ws_client::connect(server.port(), with_bearer(hs_token()));

  EXPECT_EQ(c.call(R"({"op":"sub","id":1,"tags":["chat.room1"]})").op(), "ok");
  EXPECT_EQ(c.call(R"({"op":"sub","id":2,"tags":["news.>","news.*","news.a.b"]})").op(), "ok");
  const json_message wide = c.call(R"({"op":"sub","id":3,"tags":["chat.>"]})");
  EXPECT_EQ(wide.str("/code"), "forbidden") << wide.text();  // holder of chat.room1 only
  EXPECT_EQ(c.call(R"({"op":"sub","id":4,"tags":[">"]})").str("/code"), "forbidden");

  // A multi-tag sub names exactly the refused tags, and takes none of them.
  const json_message mixed =
      c.call(R"({"op":"sub","id":5,"tags":["chat.room2","news.x","chat.*"]})");
  EXPECT_EQ(mixed.op(), "err");
  EXPECT_EQ(mixed.str("/code"), "forbidden");
  const std::string reason = mixed.str("/reason");
  EXPECT_NE(reason.find("chat.room2"), std::string::npos) << reason;
  EXPECT_NE(reason.find("chat.*"), std::string::npos) << reason;
  EXPECT_EQ(reason.find("news.x"), std::string::npos) << reason;

  EXPECT_EQ(publisher.call(R"({"op":"pub","id":1,"tag":"chat.room2","data":"no"})").op(), "ok");
  EXPECT_EQ(publisher.call(R"({"op":"pub","id":2,"tag":"chat.room1","data":"yes"})").op(), "ok");
  const json_message m = c.wait_for("msg");
  EXPECT_EQ(m.str("/tag"), "chat.room1") << m.text();
  EXPECT_EQ(c.call(R"({"op":"ping","id":6})").op(), "ok");
  EXPECT_EQ(c.kept(), 0u);
}

// ---- Expiry and refresh on an open connection ---------------------------------------------

TEST_F(Auth, ExpiryClosesTheConnectionWith4001) {
  server_process server(keys({"--token-leeway", "0s"}));
  ASSERT_TRUE(server.start());
  const int64_t exp = unix_now() + 2;
  ws_client c = ws_client::connect(server.port(), with_bearer(hs256(claims(exp))));
  ws_client lasting = ws_client::connect(server.port(), with_bearer(hs_token()));
  EXPECT_EQ(c.call(R"({"op":"ping","id":1})").op(), "ok");
  const ws_message close = c.wait_close(6s);
  EXPECT_EQ(close.close_code, 4001);
  EXPECT_GE(unix_now(), exp) << "closed before exp";
  EXPECT_EQ(lasting.call(R"({"op":"ping","id":1})").op(), "ok");
}

TEST_F(Auth, RefreshByAuthFrameExtendsAndReplacesPermissions) {
  server_process server(keys({"--token-leeway", "0s"}));
  ASSERT_TRUE(server.start());
  const int64_t exp = unix_now() + 2;
  ws_client c = ws_client::connect(
      server.port(), with_bearer(hs256(claims(exp, R"({"pub":["a.*"],"sub":["a.>"]})"))));
  ws_client publisher = ws_client::connect(server.port(), with_bearer(hs_token()));
  ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["a.>"]})").op(), "ok");
  ASSERT_EQ(c.call(R"({"op":"pub","id":2,"tag":"a.x","data":1})").op(), "ok");
  ASSERT_EQ(publisher.call(R"({"op":"pub","id":0,"tag":"a.z","data":1})").op(), "ok");
  // Whether a.x comes back to its own publisher is not this test's business: skip to a.z.
  for (;;) {
    if (c.wait_for("msg").str("/tag") == "a.z") {
      break;
    }
  }

  const std::string fresh =
      hs256(claims(unix_now() + 3600, R"({"pub":["b.*"],"sub":["b.>"]})", "", "alice"));
  const json_message ok = c.call(R"({"op":"auth","id":3,"token":")" + fresh + "\"}");
  ASSERT_EQ(ok.op(), "ok") << ok.text();

  // Past the first token's exp the connection lives on.
  while (unix_now() < exp + 2) {
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(c.call(R"({"op":"ping","id":4})").op(), "ok");
  // The new permissions replaced the old ones, and the a.> subscription ended with them.
  EXPECT_EQ(c.call(R"({"op":"pub","id":5,"tag":"a.x","data":1})").str("/code"), "forbidden");
  EXPECT_EQ(c.call(R"({"op":"pub","id":6,"tag":"b.x","data":1})").op(), "ok");
  EXPECT_EQ(c.call(R"({"op":"sub","id":7,"tags":["a.>"]})").str("/code"), "forbidden");
  ASSERT_EQ(c.call(R"({"op":"sub","id":8,"tags":["b.>"]})").op(), "ok");
  ASSERT_EQ(publisher.call(R"({"op":"pub","id":1,"tag":"a.y","data":"gone"})").op(), "ok");
  ASSERT_EQ(publisher.call(R"({"op":"pub","id":2,"tag":"b.y","data":"here"})").op(), "ok");
  EXPECT_EQ(c.wait_for("msg").str("/tag"), "b.y");

  // A refused refresh ends the connection with 4001.
  c.send_text(R"({"op":"auth","id":9,"token":"x.y.z"})");
  const json_message err = c.wait_for("err");
  EXPECT_EQ(err.str("/code"), "unauthorized");
  EXPECT_EQ(c.wait_close().close_code, 4001);
}

TEST_F(Auth, ExpiryOrRefreshWhileASubIsPending) {
  // A frozen Redis keeps each `sub` waiting (up to the link's 3 s reply timeout) while a
  // token expires (1 s away): the connection is closed with 4001 and its pending request
  // dropped cleanly; a connection that refreshed its token meanwhile stays, and its `sub`
  // gets an answer once Redis is back.
  redis_process redis;
  ASSERT_TRUE(redis.start());
  server_process server(keys({"--config", redis.config_file(), "--token-leeway", "0s"}));
  ASSERT_TRUE(server.start());
  ASSERT_TRUE(await_readyz(server.port(), 200, 15s)) << server.log();
  bool expired_while_pending = false;
  for (int attempt = 0; attempt < 3 && !expired_while_pending; ++attempt) {
    ws_client expiring = ws_client::connect(server.port(), with_bearer(hs256(claims(unix_now() + 1))));
    ws_client refreshed = ws_client::connect(server.port(), with_bearer(hs256(claims(unix_now() + 1))));
    redis.pause();
    expiring.send_text(R"({"op":"sub","id":1,"tags":["pending.a"]})");
    refreshed.send_text(R"({"op":"sub","id":1,"tags":["pending.b"]})");
    const json_message renewed =
        refreshed.call(R"({"op":"auth","id":2,"token":")" + hs_token() + "\"}");
    ASSERT_EQ(renewed.op(), "ok") << renewed.text();
    // The close comes with the sub unanswered, or (on a slow machine) after its answer.
    bool answered = false;
    for (;;) {
      const ws_message m = expiring.next_message(10s);
      if (m.opcode == ws_op::close) {
        EXPECT_EQ(m.close_code, 4001);
        break;
      }
      answered = answered || (m.opcode == ws_op::text && json_message(m.payload).op() != "msg");
    }
    expired_while_pending = !answered;
    EXPECT_TRUE(expiring.wait_eof());
    // The refreshed connection outlives its first token.
    const int64_t past = unix_now() + 2;
    while (unix_now() < past) {
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(refreshed.call(R"({"op":"ping","id":3})").op(), "ok");
    redis.resume();
    const json_message sub_answer = refreshed.next_json(15s);
    EXPECT_EQ(sub_answer.raw("id"), "1") << sub_answer.text();
    EXPECT_TRUE(sub_answer.op() == "ok" || sub_answer.str("/code") == "unavailable")
        << sub_answer.text();
  }
  EXPECT_TRUE(expired_while_pending) << "each sub was answered before its token expired";
  ASSERT_TRUE(await_readyz(server.port(), 200, 15s));
  ws_client after = ws_client::connect(server.port(), with_bearer(hs_token()));
  EXPECT_EQ(after.call(R"({"op":"pub","id":1,"tag":"pending.a","data":1})").op(), "ok");
}

// ---- POST /api/publish --------------------------------------------------------------------

TEST_F(Auth, HttpPublishWithBearerToken) {
  server_process server(keys({"--max-message-bytes", "1KiB"}));
  ASSERT_TRUE(server.start());
  const uint16_t port = server.port();
  ws_client sub = ws_client::connect(port, with_bearer(hs_token()));
  ASSERT_EQ(sub.call(R"({"op":"sub","id":1,"tags":["news.>"]})").op(), "ok");
  const std::string bearer = "Bearer " + hs_token(R"({"pub":["news.*"],"sub":[]})");

  http_response r = post_publish(port, R"({"tag":"news.today","data":{"n":1}})", bearer);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("{\"seq\":1,\"ts\":"), std::string::npos) << r.body;
  r = post_publish(port, R"({"tag":"news.today","data":{"n":2}})", bearer);
  EXPECT_NE(r.body.find("{\"seq\":2,\"ts\":"), std::string::npos) << r.body;
  const json_message m = sub.wait_for("msg");
  EXPECT_EQ(m.str("/tag"), "news.today");
  EXPECT_EQ(m.raw("data"), R"({"n":1})");

  const std::string body = R"({"tag":"news.today","data":1})";
  EXPECT_EQ(post_publish(port, body, "").status, 401);
  EXPECT_EQ(post_publish(port, body, "Basic YTpi").status, 401);
  EXPECT_EQ(post_publish(port, body, "Bearer not.a.token").status, 401);
  EXPECT_EQ(post_publish(port, body, "Bearer " + hs256(claims(unix_now() - 3600))).status, 401);
  EXPECT_EQ(post_publish(port, R"({"tag":"sports.today","data":1})", bearer).status, 403);
  EXPECT_EQ(post_publish(port, R"({"tag":"news.*","data":1})", bearer).status, 400);
  EXPECT_EQ(post_publish(port, R"({"data":1})", bearer).status, 400);
  EXPECT_EQ(post_publish(port, "not json", bearer).status, 400);
  const std::string big = R"({"tag":"news.today","data":")" + std::string(2000, 'x') + "\"}";
  EXPECT_EQ(post_publish(port, big, bearer).status, 413);
  // None of the refused requests published anything.
  r = post_publish(port, R"({"tag":"news.today","data":3})", bearer);
  EXPECT_NE(r.body.find("{\"seq\":3,\"ts\":"), std::string::npos) << r.body;
}

// ---- Issuer and audience (--jwt-issuer, --jwt-audience; RFC 7519 4.1.1, 4.1.3) ---------

TEST_F(Auth, ConfiguredIssuerAndAudienceAreRequiredEverywhere) {
  server_process server(keys({"--jwt-issuer", "https://auth.example", "--jwt-audience",
                              "wss://rt.example"}));
  ASSERT_TRUE(server.start());
  const int64_t exp = unix_now() + 3600;
  const auto token = [&](std::string_view extra) {
    return hs256(claims(exp, all_perm, extra));
  };
  const std::string good = token(R"(,"iss":"https://auth.example","aud":"wss://rt.example")");
  const std::string in_list =
      token(R"(,"iss":"https://auth.example","aud":["https://api.example","wss://rt.example"])");
  EXPECT_EQ(ws_client::connect(server.port(), with_bearer(good)).hello().op(), "hello");
  EXPECT_EQ(ws_client::connect(server.port(), with_query(in_list)).hello().op(), "hello");

  const std::pair<const char*, std::string> refused[] = {
      {"no iss, no aud", token("")},
      {"no aud", token(R"(,"iss":"https://auth.example")")},
      {"no iss", token(R"(,"aud":"wss://rt.example")")},
      {"other issuer", token(R"(,"iss":"https://evil.example","aud":"wss://rt.example")")},
      {"other audience", token(R"(,"iss":"https://auth.example","aud":"wss://other.example")")},
      {"audience not in list", token(R"(,"iss":"https://auth.example","aud":["a","b"])")},
  };
  for (const auto& [name, bad] : refused) {
    expect_refused_at_handshake(server.port(), bad, name);
    // The same in an `auth` frame: err, then 4001.
    ws_client c = ws_client::connect(server.port());
    const json_message err = c.call(R"({"op":"auth","id":1,"token":")" + bad + "\"}");
    EXPECT_EQ(err.str("/code"), "unauthorized") << name;
    EXPECT_EQ(c.wait_close().close_code, 4001) << name;
    // And for the publish API.
    EXPECT_EQ(post_publish(server.port(), R"({"tag":"a","data":1})", "Bearer " + bad).status,
              401)
        << name;
  }
  EXPECT_EQ(post_publish(server.port(), R"({"tag":"a","data":1})", "Bearer " + good).status, 200);
  EXPECT_NE(server.log().find("wrong_audience"), std::string::npos) << server.log();
  EXPECT_NE(server.log().find("wrong_issuer"), std::string::npos);
}

// ---- Limits on auth frames (issue 8) ------------------------------------------------------

TEST_F(Auth, AuthFramesPastTheRateAreRefusedAndTheTokenStays) {
  server_process server(keys({"--auth-rate", "1", "--auth-burst", "3"}));
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port(), with_bearer(hs_token()));
  for (int i = 0; i < 8; ++i) {
    // Each a different token (other subject), so that each would need verifying.
    const std::string token =
        hs256(claims(unix_now() + 3600, all_perm, "", "user" + std::to_string(i)));
    c.send_text(R"({"op":"auth","id":)" + std::to_string(i) + R"(,"token":")" + token + "\"}");
  }
  const auto [ok, limited] = count_answers(c, 8);
  EXPECT_GE(ok, 3);
  EXPECT_GE(limited, 3);
  // Still open, still allowed what the last accepted token allows.
  EXPECT_EQ(c.call(R"({"op":"sub","id":"s","tags":["any.thing"]})").op(), "ok");
  const std::string m = http_get(server.port(), "/metrics").body;
  EXPECT_NE(m.find("wsagent_rate_limited_auths_total{shard=\"0\"} " + std::to_string(limited)),
            std::string::npos);
}

// An auth flood costs the server no signature checks: 20,000 frames carrying a valid EdDSA
// token (each would be a signature verification, about 60 us) answered while a bystander
// on the same shard keeps its round trips.
TEST_F(Auth, AuthFloodCostsNoSignatureChecks) {
  const std::string jwks = keygen("flood", "flood");
  server_process server({"--jwks", jwks});
  ASSERT_TRUE(server.start());
  const std::string token = eddsa_token("flood", {"--sub", "svc", "--ttl", "1h"});
  bystander by(server.port(), with_bearer(token));
  ws_client attacker = ws_client::connect(server.port(), with_bearer(token));
  std::string batch;
  for (int i = 0; i < 500; ++i) {
    batch += encode_frame({.payload = R"({"op":"auth","id":1,"token":")" + token + "\"}"});
  }
  const double cpu_before = cpu_seconds(server.pid());
  answer_counts total;
  keep_pinging_during(by, [&] {
    for (int round = 0; round < 40; ++round) {
      attacker.send_raw(batch);
      const answer_counts counts = count_answers(attacker, 500);
      total.ok += counts.ok;
      total.refused += counts.refused;
    }
  });
  const double cpu = cpu_seconds(server.pid()) - cpu_before;
  RecordProperty("server_cpu_ms", static_cast<int>(cpu * 1000));
  EXPECT_EQ(total.ok + total.refused, 20000);
  EXPECT_LT(cpu, 0.8) << "CPU seconds for 20,000 auth frames";
  EXPECT_EQ(attacker.call(R"({"op":"ping","id":"end"})").op(), "ok");
}

TEST_F(Auth, TheTokenInUseSentAgainIsNotVerifiedAgain) {
  server_process server(keys({"--auth-rate", "0"}));
  ASSERT_TRUE(server.start());
  const std::string token = hs_token();
  ws_client c = ws_client::connect(server.port(), with_bearer(token));
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(c.call(R"({"op":"auth","id":)" + std::to_string(i) + R"(,"token":")" + token +
                     "\"}")
                  .op(),
              "ok");
  }
  const std::string m = http_get(server.port(), "/metrics").body;
  EXPECT_NE(m.find("wsagent_auth_reused_total{shard=\"0\"} 50"), std::string::npos) << m;
  // A different token is verified as always (a bad one still closes).
  c.send_text(R"({"op":"auth","id":"bad","token":")" + token + "x\"}");
  EXPECT_EQ(c.wait_close().close_code, 4001);
}

// A refresh whose token no longer allows a tag also ends the requests still waiting for it:
// they must not be answered as if allowed, nor replay the tag's history. (Two shards: a sub
// whose tags the other shard owns waits a loop turn, so the auth frame sent in the same
// write arrives while it waits.)
TEST_F(Auth, RefreshEndsWaitingSubsOfTagsTheNewTokenForbids) {
  server_process server(keys({"--shards", "2"}));
  ASSERT_TRUE(server.start());
  ws_client publisher = ws_client::connect(server.port(), with_bearer(hs_token()));
  std::string tags;
  std::string since;
  for (int i = 0; i < 16; ++i) {
    const std::string tag = "secret." + std::to_string(i);
    ASSERT_EQ(publisher.call(R"({"op":"pub","id":1,"tag":")" + tag + R"(","data":1})").op(),
              "ok");
    tags += std::string(i ? "," : "") + "\"" + tag + "\"";
    since += std::string(i ? "," : "") + "\"" + tag + "\":0";
  }
  ws_client c = ws_client::connect(server.port(), with_bearer(hs_token()));
  const std::string narrower = hs_token(R"({"pub":[],"sub":["public.>"]})");
  c.send_raw(encode_frame({.payload = R"({"op":"sub","id":"s","tags":[)" + tags +
                                      R"(],"since":{)" + since + "}}"}) +
             encode_frame({.payload = R"({"op":"auth","id":"a","token":")" + narrower + "\"}"}));
  bool sub_answered = false;
  bool auth_answered = false;
  while (!sub_answered || !auth_answered) {
    const json_message m = c.next_json();
    ASSERT_NE(m.op(), "msg") << "a forbidden tag was replayed: " << m.text();
    if (m.raw("id") == "\"s\"") {
      sub_answered = true;
      if (m.op() == "ok") {
        EXPECT_EQ(m.size("/seq"), 0u) << "the ok lists forbidden tags: " << m.text();
      }
    } else if (m.raw("id") == "\"a\"") {
      auth_answered = true;
      EXPECT_EQ(m.op(), "ok") << m.text();
    }
  }
  publisher.send_text(R"({"op":"pub","tag":"secret.3","data":2})");
  EXPECT_EQ(c.call(R"({"op":"ping","id":"end"})").op(), "ok");
  EXPECT_EQ(c.kept(), 0u) << c.next_json().text();
}

}  // namespace
}  // namespace wsa::test
