// Backpressure (docs/protocol.md "Close codes": 4008 slow consumer; docs/protocol.md "Slow
// consumers"): a subscriber that does not read is closed with 4008 once its outbound queue
// passes --max-outbound-bytes, and a fast subscriber of the same tag misses nothing.
#include <gtest/gtest.h>

#include <string>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

// Up to 1000 messages of 8 KiB (8 MB): more than the slow reader's receive buffer, the
// server's socket send buffer (loopback autotuning stops at tcp_wmem's 4 MiB) and the 64 KiB
// queue together.
constexpr int message_count = 1000;
constexpr std::size_t payload_bytes = 8 * 1024;
constexpr int metrics_every = 20;

bool slow_consumer_closed(uint16_t port) {
  const std::string metrics = http_get(port, "/metrics").body;
  return metrics.find("wsagent_slow_consumer_closes_total{shard=\"0\"} 0") == std::string::npos;
}

TEST(SlowConsumer, NonReaderIsClosedWith4008WhileFastReaderGetsEverything) {
  server_process server({"--no-auth", "--max-message-bytes", "16KiB", "--max-outbound-bytes",
                         "64KiB"});
  ASSERT_TRUE(server.start());
  ws_client slow = ws_client::connect(server.port());
  ASSERT_EQ(slow.call(R"({"op":"sub","id":1,"tags":["firehose"]})").op(), "ok");
  ws_client fast = ws_client::connect(server.port());
  ASSERT_EQ(fast.call(R"({"op":"sub","id":1,"tags":["firehose"]})").op(), "ok");
  ws_client publisher = ws_client::connect(server.port());

  const std::string filler(payload_bytes, 'x');
  bool slow_checked = false;
  for (int n = 1; n <= message_count; ++n) {
    publisher.send_text(R"({"op":"pub","tag":"firehose","data":")" + filler + "\"}");
    // Lock-step: the fast reader's queue never holds more than one message, on any machine.
    const json_message m = fast.next_json();
    ASSERT_EQ(m.op(), "msg") << m.text().substr(0, 200);
    ASSERT_EQ(m.u64("/seq"), static_cast<uint64_t>(n));
    ASSERT_EQ(m.raw("data").size(), payload_bytes + 2);

    // Once the server gave up on the slow reader, read what it has at once: the server
    // waits only 2 s for its close frame to be flushed.
    if (slow_checked || n % metrics_every != 0 || !slow_consumer_closed(server.port())) {
      continue;
    }
    slow_checked = true;
    ::testing::Test::RecordProperty("slow_reader_closed_by_seq", n);
    SCOPED_TRACE("the slow reader was cut after seq " + std::to_string(n));
    // A prefix of the stream (contiguous from seq 1: only frames not yet given to the
    // kernel are dropped), then the 4008 close, then the end of the connection.
    uint64_t last_seq = 0;
    for (;;) {
      const ws_message got = slow.next_message(5s);
      if (got.opcode == ws_op::close) {
        EXPECT_EQ(got.close_code, 4008) << got.close_reason;
        break;
      }
      ASSERT_EQ(got.opcode, ws_op::text);
      const json_message msg{got.payload};
      ASSERT_EQ(msg.op(), "msg") << got.payload.substr(0, 200);
      ASSERT_EQ(msg.u64("/seq"), last_seq + 1) << "a gap before the close";
      last_seq = msg.u64("/seq");
    }
    EXPECT_LT(last_seq, static_cast<uint64_t>(n));
    ::testing::Test::RecordProperty("slow_reader_last_seq", static_cast<int>(last_seq));
    EXPECT_TRUE(slow.wait_eof());
  }
  EXPECT_TRUE(slow_checked) << "the slow reader was never closed";
  EXPECT_EQ(fast.call(R"({"op":"ping","id":2})").op(), "ok") << "the fast reader was hurt";
}

}  // namespace
}  // namespace wsa::test
