// The publish API's bounds (docs/limits.md): a token is verified once per shard and then
// recognised (not one signature check per request), and publishes are rate limited per
// token, across connections (per connection with --no-auth), with 429 and the connection
// kept open. Against the real binary, small limits; the server is measured.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "support/abuse.h"
#include "support/hs256_token.h"
#include "support/http_client.h"
#include "support/process_probe.h"
#include "support/scratch_dir.h"
#include "support/server_process.h"

namespace wsa::test {
namespace {

const std::string secret = "api publish test secret, comfortably longer than 32 bytes";

std::string api_request(std::string_view token, int n) {
  const std::string body = R"({"tag":"api.rate","data":)" + std::to_string(n) + "}";
  std::string r = "POST /api/publish HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n";
  if (!token.empty()) {
    r += "Authorization: Bearer " + std::string(token) + "\r\n";
  }
  return r + "\r\n" + body;
}

struct statuses {
  int ok = 0;
  int limited = 0;
};

// `n` publishes one after another on one keep-alive connection; any status but 200 and 429
// fails the test.
statuses publish_on(tcp_socket& s, std::string_view token, int n) {
  statuses out;
  std::string buffer;
  for (int i = 0; i < n; ++i) {
    s.send_all(api_request(token, i));
    const http_response r = read_http_response(s, buffer, std::chrono::seconds(10));
    if (r.status == 429) {
      ++out.limited;
      EXPECT_EQ(r.header("Retry-After"), "1");
      EXPECT_NE(r.body.find("rate_limited"), std::string::npos) << r.body;
    } else {
      EXPECT_EQ(r.status, 200) << r.body;
      ++out.ok;
    }
  }
  return out;
}

// One shard, HS256 tokens signed with `secret`, the publish rate and burst given.
std::vector<std::string> args_with_secret(const scratch_dir& dir, std::string rate,
                                          std::string burst) {
  return {"--hmac-secret-file", dir.write("secret", secret + "\n"), "--shards", "1",
          "--pub-rate", std::move(rate), "--pub-burst", std::move(burst)};
}

TEST(ApiPublishLimits, ATokenIsVerifiedOnceAndItsRateHoldsAcrossConnections) {
  scratch_dir dir;
  ASSERT_TRUE(dir.ok());
  server_process server(args_with_secret(dir, "1", "5"));
  ASSERT_TRUE(server.start());
  const std::string token = hs256(claims_json(unix_now() + 3600), secret);
  tcp_socket first = tcp_socket::connect(server.port());
  const statuses a = publish_on(first, token, 4);
  EXPECT_EQ(a.ok, 4);
  // A new connection with the same token finds its bucket nearly empty: one more from the
  // burst, and a token or two if seconds passed; then 429, and the connection stays open.
  tcp_socket second = tcp_socket::connect(server.port());
  const statuses b = publish_on(second, token, 10);
  EXPECT_GE(b.ok, 1);
  EXPECT_LE(b.ok, 3);
  EXPECT_EQ(b.ok + b.limited, 10);
  EXPECT_EQ(metric(server.port(), "wsagent_rate_limited_publishes_total"),
            static_cast<uint64_t>(b.limited));
  EXPECT_EQ(metric(server.port(), "wsagent_publishes_total"), static_cast<uint64_t>(a.ok + b.ok));
  // Verified once: every later request recognised the token.
  EXPECT_EQ(metric(server.port(), "wsagent_auth_reused_total"), 13u);
  // Another token is another bucket (and one more verification).
  const std::string other = hs256(claims_json(unix_now() + 3600, R"({"pub":[">"]})", "", "bob"),
                                  secret);
  EXPECT_EQ(publish_on(second, other, 1).ok, 1);
}

TEST(ApiPublishLimits, WithoutAuthTheRateIsPerConnection) {
  server_process server({"--no-auth", "--pub-rate", "1", "--pub-burst", "3"});
  ASSERT_TRUE(server.start());
  tcp_socket s = tcp_socket::connect(server.port());
  const statuses r = publish_on(s, "", 8);
  EXPECT_GE(r.ok, 3);
  EXPECT_LE(r.ok, 5);
  EXPECT_EQ(r.ok + r.limited, 8);
  EXPECT_EQ(metric_total(server.port(), "wsagent_rate_limited_publishes_total"),
            static_cast<uint64_t>(r.limited));
}

// A client posting as fast as it is answered with one valid token: before, every request
// checked the token's signature; now the flood costs a lookup and a refusal each, the
// shard's memory stays put and a bystander is still answered.
TEST(ApiPublishLimits, AnApiFloodWithOneTokenIsRefusedCheaply) {
  small_sanitizer_quarantine();
  scratch_dir dir;
  ASSERT_TRUE(dir.ok());
  server_process server(args_with_secret(dir, "100", "100"));
  ASSERT_TRUE(server.start());
  const std::string token = hs256(claims_json(unix_now() + 3600), secret);
  ws_options with_token;
  with_token.extra_headers.push_back("Authorization: Bearer " + token);
  bystander by(server.port(), with_token);
  tcp_socket s = tcp_socket::connect(server.port());
  const int64_t base = rss_kib(server.pid());
  const double cpu_before = cpu_seconds(server.pid());
  statuses r;
  keep_pinging_during(by, [&] { r = publish_on(s, token, 3000); });
  const double cpu = cpu_seconds(server.pid()) - cpu_before;
  const double grown = grown_mib(server.pid(), base);
  RecordProperty("server_cpu_ms", static_cast<int>(cpu * 1000));
  RecordProperty("rss_growth_kib", static_cast<int>(grown * 1024));
  RecordProperty("accepted", r.ok);
  EXPECT_GE(r.ok, 100);
  EXPECT_GT(r.limited, 0);
  EXPECT_EQ(metric(server.port(), "wsagent_auth_reused_total"), 2999u);
  EXPECT_LT(grown, 32.0);
  EXPECT_LT(cpu, 20.0) << "CPU seconds for 3000 API requests";
  by.round_trip();
}

// The cache holds 64 tokens per shard (handlers/api_tokens, direct-mapped by a seeded
// hash). A client cycling through many more valid tokens makes it verify again whatever was
// pushed out, never grows it, and never lends one token's rights to another sharing its
// slot: token i may publish only to tag "cycle.i".
TEST(ApiPublishLimits, CyclingMoreTokensThanTheCacheHoldsEvictsWithoutGrowingOrMixingRights) {
  small_sanitizer_quarantine();
  scratch_dir dir;
  ASSERT_TRUE(dir.ok());
  server_process server(args_with_secret(dir, "0", "1"));
  ASSERT_TRUE(server.start());
  constexpr int token_count = 200;  // three times the cache
  std::vector<std::string> tokens;
  for (int i = 0; i < token_count; ++i) {
    const std::string perm = R"({"pub":["cycle.)" + std::to_string(i) + R"("]})";
    tokens.push_back(
        hs256(claims_json(unix_now() + 3600, perm, "", "user" + std::to_string(i)), secret));
  }
  tcp_socket s = tcp_socket::connect(server.port());
  std::string buffer;
  auto post = [&](int token, int tag) {
    const std::string body =
        R"({"tag":"cycle.)" + std::to_string(tag) + R"(","data":)" + std::to_string(token) + "}";
    s.send_all("POST /api/publish HTTP/1.1\r\nHost: t\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\nAuthorization: Bearer " + tokens[token] +
               "\r\n\r\n" + body);
    const int status = read_http_response(s, buffer, std::chrono::seconds(10)).status;
    if (status != 200) {
      s = tcp_socket::connect(server.port());  // a refusal closes the connection
      buffer.clear();
    }
    return status;
  };
  auto reused = [&] { return metric(server.port(), "wsagent_auth_reused_total"); };

  // First pass: every token is new, so every one is verified.
  for (int i = 0; i < token_count; ++i) {
    ASSERT_EQ(post(i, i), 200) << "token " << i;
  }
  EXPECT_EQ(reused(), 0u);
  // The token used last still holds its slot: recognised, exactly one reuse.
  ASSERT_EQ(post(token_count - 1, token_count - 1), 200);
  EXPECT_EQ(reused(), 1u);

  const int64_t base = rss_kib(server.pid());
  uint64_t before = reused();
  for (int pass = 0; pass < 5; ++pass) {
    for (int i = 0; i < token_count; ++i) {
      // Its own tag, whether verified again or found in the cache...
      ASSERT_EQ(post(i, i), 200) << "pass " << pass << ", token " << i;
      // ...and never a neighbour's, which may share its slot (403 from the cache too; the
      // refusal closes the connection, so this also costs a connect).
      ASSERT_EQ(post(i, (i + 1) % token_count), 403) << "pass " << pass << ", token " << i;
    }
    // Cycling in one order, a slot can serve at most one hit a pass (any later hit on it
    // would need the token to have survived the one that hit), and the second request of
    // each token always finds it: 200 reuses plus at most 64.
    const uint64_t now = reused();
    EXPECT_GE(now - before, static_cast<uint64_t>(token_count));
    EXPECT_LE(now - before, static_cast<uint64_t>(token_count + 64)) << "pass " << pass;
    RecordProperty("reuses_pass_" + std::to_string(pass), static_cast<int>(now - before));
    before = now;
  }
  const double grown = grown_mib(server.pid(), base);
  RecordProperty("rss_growth_kib", static_cast<int>(grown * 1024));
  EXPECT_LT(grown, 16.0) << "after 2,000 requests over 200 tokens";
  EXPECT_EQ(metric(server.port(), "wsagent_publishes_total"),
            static_cast<uint64_t>(token_count + 1 + 5 * token_count));
}

}  // namespace
}  // namespace wsa::test
