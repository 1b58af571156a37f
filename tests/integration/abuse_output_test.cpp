// Abuse: clients that make the server write and never read (issue 8, "Output is bounded, all
// of it"). Every answer counts against --max-outbound-bytes, HTTP responses and pongs
// included; a connection at its limit stops being read (its bytes wait in the kernel, which
// pushes back on the client) or is closed with 4008, and never queues more. Each attack runs
// against the real binary with small limits while a bystander on the same shard keeps
// getting its pings answered; the server's memory is read from /proc.
#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

#include "support/abuse.h"
#include "support/frame_codec.h"
#include "support/http_client.h"
#include "support/process_probe.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

constexpr std::size_t mib = 1024 * 1024;
// Far above what a bounded server needs (its limits here are 64 KiB per connection; a flood
// touches up to 16 MiB of the shard's receive buffers; kernel socket buffers are not in its
// RSS), far below what each attack cost unbounded (hundreds of MiB).
constexpr double growth_bound_mib = 40;


struct attack_outcome {
  flood_result sent;
  double grown_mib = 0;  // the server's RSS growth during the attack
  int round_trips = 0;   // the bystander's, all answered
};

// Writes `unit` to `socket` (whose owner never reads: a tiny receive buffer) for up to
// `bytes` or `time` while the bystander keeps pinging, and records what it cost the server.
attack_outcome attack_without_reading(const server_process& server, bystander& by,
                                      tcp_socket& socket, std::string_view unit,
                                      std::size_t bytes, std::chrono::seconds time) {
  socket.set_receive_buffer(4096);
  const int64_t base = rss_kib(server.pid());
  attack_outcome out;
  out.round_trips =
      keep_pinging_during(by, [&] { out.sent = flood(socket, unit, bytes, time); });
  out.grown_mib = grown_mib(server.pid(), base);
  testing::Test::RecordProperty("attack_bytes", static_cast<int>(out.sent.bytes));
  testing::Test::RecordProperty("rss_growth_kib", static_cast<int>(out.grown_mib * 1024));
  return out;
}

server_process small_server(std::vector<std::string> extra = {}) {
  small_sanitizer_quarantine();
  std::vector<std::string> flags = {"--no-auth", "--max-message-bytes", "16KiB",
                                    "--max-outbound-bytes", "64KiB"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return server_process(flags);
}

// Before: ~6.6 MB of pipelined GET /metrics grew the server by ~420 MiB (every response
// queued in full, outside the cap).
TEST(AbuseOutput, PipelinedHttpFromANonReaderIsAnsweredOneResponseAtATime) {
  // A paused HTTP client is closed after --handshake-timeout: long enough here to see it.
  server_process server = small_server({"--handshake-timeout", "60s"});
  ASSERT_TRUE(server.start());
  bystander by(server.port());
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
  tcp_socket attacker = tcp_socket::connect(server.port());
  const attack_outcome attack = attack_without_reading(server, by, attacker, request, 8 * mib,
                                                       std::chrono::seconds(8));
  EXPECT_LT(attack.grown_mib, growth_bound_mib) << "after " << attack.sent.bytes << " bytes";
  EXPECT_GE(attack.round_trips, 1);
  // The server answered only what the attacker's kernel buffers took: far fewer requests
  // than were sent (each answer waits for the one before it to be sent).
  const uint64_t requests_sent = attack.sent.bytes / request.size();
  EXPECT_LT(metric(server.port(), "wsagent_http_requests_total"), requests_sent / 4 + 100);
  EXPECT_GE(metric(server.port(), "wsagent_input_pauses_total"), 1u);
  EXPECT_EQ(metric(server.port(), "wsagent_connections_paused"), 1u) << "the attacker";
  by.round_trip();
}

// Before: ~11.7 MB of pings from a client that never reads grew the server by ~58 MiB (a
// pong queued for each, outside the cap).
TEST(AbuseOutput, PingFloodFromANonReaderKeepsOnePongPending) {
  server_process server = small_server();
  ASSERT_TRUE(server.start());
  bystander by(server.port());
  ws_client attacker = ws_client::connect(server.port());
  const std::string ping = encode_frame({.opcode = ws_op::ping, .payload = ""});
  const attack_outcome attack = attack_without_reading(server, by, attacker.socket(), ping,
                                                       24 * mib, std::chrono::seconds(10));
  EXPECT_LT(attack.grown_mib, growth_bound_mib) << "after " << attack.sent.bytes << " bytes";
  by.round_trip();
}

// RFC 6455 5.5.3: with pongs still unsent, answering only the latest ping is allowed, and
// the latest is the one that must be answered.
TEST(AbuseOutput, UnsentPongsAreReplacedByTheLatestPingsAnswer) {
  server_process server = small_server();
  ASSERT_TRUE(server.start());
  ws_client c = ws_client::connect(server.port());
  std::string pings;
  constexpr int count = 5000;
  for (int i = 1; i <= count; ++i) {
    pings += encode_frame({.opcode = ws_op::ping, .payload = std::to_string(i)});
  }
  c.send_raw(pings);
  c.send_text(R"({"op":"ping","id":"after"})");
  std::string last;
  int pongs = 0;
  for (;;) {
    const ws_message m = c.next_message();
    if (m.opcode == ws_op::pong) {
      last = m.payload;
      ++pongs;
      continue;
    }
    ASSERT_EQ(m.opcode, ws_op::text);
    EXPECT_EQ(json_message(m.payload).raw("id"), "\"after\"");
    break;
  }
  EXPECT_EQ(last, std::to_string(count)) << "the last ping must be answered";
  EXPECT_GE(pongs, 1);
  EXPECT_EQ(metric(server.port(), "wsagent_pongs_replaced_total"),
            static_cast<uint64_t>(count - pongs));
  RecordProperty("pongs_for_5000_pings", pongs);
}

// Requests whose answers the client never reads: the connection stops being read once its
// queue is half full (or is closed with 4008); it never holds more than its limit.
TEST(AbuseOutput, RequestFloodFromANonReaderIsBounded) {
  server_process server = small_server();
  ASSERT_TRUE(server.start());
  bystander by(server.port());
  ws_client attacker = ws_client::connect(server.port());
  const std::string request = encode_frame({.payload = R"({"op":"ping","id":12345})"});
  const attack_outcome attack = attack_without_reading(server, by, attacker.socket(), request,
                                                       16 * mib, std::chrono::seconds(8));
  EXPECT_LT(attack.grown_mib, growth_bound_mib) << "after " << attack.sent.bytes << " bytes";
  EXPECT_GE(metric(server.port(), "wsagent_input_pauses_total") +
                metric(server.port(), "wsagent_slow_consumer_closes_total"),
            1u);
  by.round_trip();
}

// What a connection receives after it is paused (its multishot receive had already taken
// it from the kernel before the cancel took effect) waits in its stash: at most
// --max-paused-input, past which it is closed as a slow consumer. To make the kernel hand
// over a batch at once, the server is stopped (SIGSTOP) while the attacker fills its
// socket, then continued: the first 16 KiB of ping requests fill half the output cap
// (pause), the rest of the batch lands in the stash and passes 16 KiB. Repeated by several
// attackers, the server's memory stays put and a bystander is answered after each.
TEST(AbuseOutput, InputReceivedWhilePausedIsBoundedAndClosesTheClient) {
  small_sanitizer_quarantine();
  server_process server({"--no-auth", "--shards", "1", "--max-message-bytes", "4KiB",
                         "--max-outbound-bytes", "16KiB", "--max-paused-input", "16KiB"});
  ASSERT_TRUE(server.start());
  bystander by(server.port());
  const std::string request = encode_frame({.payload = R"({"op":"ping","id":12345})"});
  const int64_t base = rss_kib(server.pid());
  constexpr int attackers = 4;
  for (int i = 0; i < attackers; ++i) {
    ws_client attacker = ws_client::connect(server.port());
    attacker.socket().set_receive_buffer(4096);
    ASSERT_EQ(::kill(server.pid(), SIGSTOP), 0);
    const flood_result sent = flood(attacker.socket(), request, 4 * mib,
                                    std::chrono::milliseconds(1500),
                                    std::chrono::milliseconds(300));
    ASSERT_EQ(::kill(server.pid(), SIGCONT), 0);
    EXPECT_GE(sent.bytes, 64u * 1024) << "the kernel held less than a batch";
    // Its unsent answers are dropped; the close frame says why.
    EXPECT_EQ(attacker.wait_close(10s).close_code, 4008) << "attacker " << i;
    by.round_trip();
  }
  const double grown = grown_mib(server.pid(), base);
  RecordProperty("rss_growth_kib", static_cast<int>(grown * 1024));
  EXPECT_EQ(metric(server.port(), "wsagent_stash_overflow_closes_total"),
            static_cast<uint64_t>(attackers));
  EXPECT_EQ(metric(server.port(), "wsagent_slow_consumer_closes_total"),
            static_cast<uint64_t>(attackers));
  EXPECT_LT(grown, growth_bound_mib);
}

}  // namespace
}  // namespace wsa::test
