// Abuse: WebSocket frames that carry no command (binary frames, text that is not a valid
// request, pongs nobody asked for). Each costs a parse and (but for pongs) an `err` answer,
// and no other limit applies to them: within --invalid-frame-rate/--invalid-frame-burst each
// gets its `err`; past them the connection is closed with 1008 instead of being answered at
// line rate. A client that reads its answers (so that output backpressure never stops it)
// is the one that could make the server work without end; the tests measure the server's
// CPU and memory and a bystander's round trips while such clients keep coming back.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/abuse.h"
#include "support/frame_codec.h"
#include "support/process_probe.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

using namespace std::chrono_literals;

// One of each kind of frame that is no command.
std::string junk_frames(int rounds) {
  std::string out;
  for (int i = 0; i < rounds; ++i) {
    out += encode_frame({.opcode = ws_op::binary, .payload = "\x01\x02junk"});
    out += encode_frame({.payload = "{not json"});
    out += encode_frame({.payload = R"({"op":"dance","id":7})"});
    out += encode_frame({.opcode = ws_op::pong, .payload = "unasked"});
  }
  return out;
}

// Reads until the close frame, counting the `err` answers before it.
struct refusal_outcome {
  int errs = 0;
  uint16_t close_code = 0;
};
refusal_outcome read_until_close(ws_client& c) {
  refusal_outcome out;
  for (;;) {
    const std::optional<ws_message> m = c.try_next_message(10s);
    if (!m) {
      return out;  // no close: close_code stays 0 and the caller's check fails
    }
    if (m->opcode == ws_op::close) {
      out.close_code = m->close_code;
      return out;
    }
    if (m->opcode == ws_op::text && json_message(m->payload).op() == "err") {
      ++out.errs;
    }
  }
}

TEST(AbuseFrames, InvalidFramesWithinTheirBurstAreEachAnsweredAndTheConnectionStays) {
  server_process server({"--no-auth", "--invalid-frame-rate", "1", "--invalid-frame-burst",
                         "40"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  c.send_raw(junk_frames(10));  // 40 frames: the whole burst, 30 of them answered `err`
  const json_message answer = c.call(R"({"op":"ping","id":"still-here"})");
  EXPECT_EQ(answer.op(), "ok");
  int errs = 0;
  while (c.kept() > 0) {
    const json_message m = c.next_json();
    errs += m.op() == "err" ? 1 : 0;
  }
  EXPECT_EQ(errs, 30) << "binary, invalid JSON and unknown op answered; pongs not";
  EXPECT_EQ(metric(server.port(), "wsagent_invalid_frame_closes_total"), 0u);
}

TEST(AbuseFrames, InvalidFramesPastTheirRateCloseTheConnectionWith1008) {
  server_process server({"--no-auth", "--invalid-frame-rate", "10", "--invalid-frame-burst",
                         "20"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  c.send_raw(junk_frames(2000));  // 8000 frames in one write
  const refusal_outcome out = read_until_close(c);
  EXPECT_EQ(out.close_code, 1008);
  // The burst (15 answered of its 20 frames: a quarter are pongs), and a few more for the
  // tokens that came back while the server read; far from the 6000 it used to answer.
  EXPECT_GE(out.errs, 15);
  EXPECT_LT(out.errs, 1000);
  RecordProperty("errs_before_close", out.errs);
  EXPECT_TRUE(c.wait_eof());
  EXPECT_EQ(metric(server.port(), "wsagent_invalid_frame_closes_total"), 1u);
  // Only pongs past the burst close it too (they are never answered, but still read).
  ws_client p = ws_client::connect(server.port());
  std::string pongs;
  for (int i = 0; i < 500; ++i) {
    pongs += encode_frame({.opcode = ws_op::pong, .payload = "x"});
  }
  p.send_raw(pongs);
  EXPECT_EQ(read_until_close(p).close_code, 1008);
  EXPECT_EQ(metric(server.port(), "wsagent_invalid_frame_closes_total"), 2u);
}

// A pong answering the server's own idle ping is no invalid frame: it costs no token of
// --invalid-frame-rate, however often --idle-timeout makes the server ask (here ~5 pings a
// second against 1 token a second). A pong nobody asked for still costs one.
TEST(AbuseFrames, PongsAnsweringTheServersIdlePingsCostNoInvalidFrameToken) {
  server_process server({"--no-auth", "--idle-timeout", "200ms", "--invalid-frame-rate", "1",
                         "--invalid-frame-burst", "1"});
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  for (int pings = 0; pings < 10; ++pings) {
    const std::optional<ws_message> m = c.try_next_message(5s);
    ASSERT_TRUE(m.has_value()) << "no ping after " << pings << " pongs";
    ASSERT_EQ(m->opcode, ws_op::ping)
        << "after " << pings << " pongs: opcode " << int{m->opcode} << " " << m->close_code
        << " " << m->close_reason;
    c.send_frame({.opcode = ws_op::pong, .payload = m->payload});
  }
  EXPECT_EQ(c.call(R"({"op":"ping","id":"still-here"})").op(), "ok");
  EXPECT_EQ(metric(server.port(), "wsagent_invalid_frame_closes_total"), 0u);
  std::string unasked;  // at most one answers a ping; the burst takes one; then 1008
  for (int i = 0; i < 5; ++i) {
    unasked += encode_frame({.opcode = ws_op::pong, .payload = "unasked"});
  }
  c.send_raw(unasked);
  EXPECT_EQ(read_until_close(c).close_code, 1008);
  EXPECT_EQ(metric(server.port(), "wsagent_invalid_frame_closes_total"), 1u);
}

// Before (no bound on these frames): a client that reads its answers had the server parse
// and answer every one, at line rate, for as long as it liked. Now each connection gets the
// burst, then 1008; reconnecting costs a handshake each time. The server's CPU, memory and
// a bystander's round trips are measured while attackers keep coming back for 3 s.
TEST(AbuseFrames, ClientsSendingJunkWhileReadingCannotKeepTheServerBusy) {
  small_sanitizer_quarantine();
  server_process server({"--no-auth"});  // the defaults: 10/s, burst 100
  ASSERT_TRUE(server.start());
  bystander by(server.port());
  const std::string junk = junk_frames(4096);  // 16,384 frames, ~260 KiB
  const int64_t base = rss_kib(server.pid());
  const double cpu_before = cpu_seconds(server.pid());
  int connections = 0;
  int errs = 0;
  int closed_1008 = 0;
  const int round_trips = keep_pinging_during(by, [&] {
    const auto until = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < until) {
      ws_client attacker = ws_client::connect(server.port());
      ++connections;
      attacker.send_raw(junk);
      const refusal_outcome out = read_until_close(attacker);
      errs += out.errs;
      closed_1008 += out.close_code == 1008 ? 1 : 0;
    }
  });
  const double cpu = cpu_seconds(server.pid()) - cpu_before;
  const double grown = grown_mib(server.pid(), base);
  RecordProperty("attack_connections", connections);
  RecordProperty("junk_frames_sent", connections * 16384);
  RecordProperty("errs_answered", errs);
  RecordProperty("server_cpu_ms", static_cast<int>(cpu * 1000));
  RecordProperty("rss_growth_kib", static_cast<int>(grown * 1024));
  RecordProperty("bystander_round_trips", round_trips);
  EXPECT_EQ(closed_1008, connections) << "every attacker closed with 1008";
  EXPECT_EQ(metric(server.port(), "wsagent_invalid_frame_closes_total"),
            static_cast<uint64_t>(connections));
  // At most the burst (75 answered of 100) plus the refill per connection: a small share
  // of the 12,288 answerable frames each one sent.
  EXPECT_LT(errs, connections * 1000);
  EXPECT_GE(round_trips, 1);
  EXPECT_LT(grown, 40.0);
  by.round_trip();
}

}  // namespace
}  // namespace wsa::test
