// Backpressure (docs/protocol.md "Close codes": 4008 slow consumer; docs/protocol.md "Slow
// consumers"): a subscriber that does not read is closed with 4008 once its outbound queue
// passes --max-outbound-bytes, and a fast subscriber of the same tag misses nothing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

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

// wsagent's conn ids carry the shard above bit 40 (src/server/shard.cpp).
unsigned shard_of(const ws_client& c) {
  const std::string conn = c.hello().str("/conn");
  return static_cast<unsigned>(std::stoull(conn.substr(2), nullptr, 16) >> 40);
}

TEST(SlowConsumer, ReplayLargerThanTheQueueIsCutAtTheLimitAndHarmsNoOne) {
  // The replay of a `since` shares the subscriber's outbound limit (docs/limits.md): a
  // history bigger than the limit comes as far as it fits, the tag is reported in `gaps`
  // (a later `since` goes on), and the node and the other subscribers carry on.
  server_process server({"--no-auth", "--shards", "2", "--max-message-bytes", "16KiB",
                         "--max-outbound-bytes", "64KiB", "--history-size", "200"});
  ASSERT_TRUE(server.start());
  ws_client publisher = ws_client::connect(server.port());
  ws_client bystander = ws_client::connect(server.port());
  ASSERT_EQ(bystander.call(R"({"op":"sub","id":1,"tags":["replayed"]})").op(), "ok");
  const std::string filler(8 * 1024, 'r');
  for (int n = 1; n <= 100; ++n) {  // 800 KiB of history
    publisher.send_text(R"({"op":"pub","tag":"replayed","data":")" + filler + "\"}");
    ASSERT_EQ(bystander.next_json().u64("/seq"), static_cast<uint64_t>(n));
  }
  for (int attempt = 0; attempt < 4; ++attempt) {  // on both shards, twice
    ws_client late = ws_client::connect(server.port());
    const json_message ok =
        late.call(R"({"op":"sub","id":1,"tags":["replayed"],"since":{"replayed":0}})");
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    EXPECT_TRUE(ok.has("/gaps")) << ok.text();
    late.send_text(R"({"op":"ping","id":2})");
    uint64_t last = 0;
    for (;;) {
      const json_message m = late.next_json();
      if (m.op() == "ok") {
        break;  // the ping's answer, after the replay
      }
      ASSERT_EQ(m.op(), "msg") << m.text().substr(0, 100);
      ASSERT_EQ(m.u64("/seq"), last + 1) << "a gap inside the replay";
      last = m.u64("/seq");
    }
    EXPECT_GE(last, 1u);
    EXPECT_LT(last, 100u) << "the whole history fitted a 64 KiB queue";
  }
  publisher.send_text(R"({"op":"pub","tag":"replayed","data":"after"})");
  EXPECT_EQ(bystander.next_json().u64("/seq"), 101u);
  const std::string metrics = http_get(server.port(), "/metrics").body;
  EXPECT_NE(metrics.find("wsagent_slow_consumer_closes_total{shard=\"0\"} 0\n"
                         "wsagent_slow_consumer_closes_total{shard=\"1\"} 0"),
            std::string::npos)
      << "a replay within the limit closed no one";
}

TEST(SlowConsumer, SubscriberFedFromAnotherShardIsClosedWith4008) {
  // The slow reader's messages come through the mailbox from the publisher's shard: its own
  // shard cuts it off, the publisher's shard and the fast reader go on.
  server_process server({"--no-auth", "--shards", "2", "--max-message-bytes", "16KiB",
                         "--max-outbound-bytes", "64KiB"});
  ASSERT_TRUE(server.start());
  std::vector<ws_client> pool;
  for (int i = 0; i < 40; ++i) {
    pool.push_back(ws_client::connect(server.port()));
  }
  auto take_on = [&](unsigned shard) {
    for (auto it = pool.begin(); it != pool.end(); ++it) {
      if (shard_of(*it) == shard) {
        ws_client c = std::move(*it);
        pool.erase(it);
        return c;
      }
    }
    throw std::runtime_error("no connection on shard " + std::to_string(shard));
  };
  ws_client slow = take_on(0);
  ws_client fast = take_on(1);
  ws_client publisher = take_on(1);
  // Tags owned by either shard: each is published from shard 1.
  ASSERT_EQ(slow.call(R"({"op":"sub","id":1,"tags":["fed.a","fed.b","fed.c","fed.d"]})").op(),
            "ok");
  ASSERT_EQ(fast.call(R"({"op":"sub","id":1,"tags":["fed.a","fed.b","fed.c","fed.d"]})").op(),
            "ok");
  const std::string filler(8 * 1024, 'f');
  bool closed = false;
  for (int n = 0; n < 1000 && !closed; ++n) {
    const std::string tag = std::string("fed.") + static_cast<char>('a' + n % 4);
    publisher.send_text(R"({"op":"pub","tag":")" + tag + R"(","data":")" + filler + "\"}");
    ASSERT_EQ(fast.next_json().op(), "msg");
    if (n % 20 == 19) {
      const std::string metrics = http_get(server.port(), "/metrics").body;
      closed = metrics.find("wsagent_slow_consumer_closes_total{shard=\"0\"} 1") !=
               std::string::npos;
    }
  }
  ASSERT_TRUE(closed) << "the slow reader on shard 0 was never cut off";
  EXPECT_EQ(slow.wait_close(10s).close_code, 4008);
  EXPECT_EQ(publisher.call(R"({"op":"ping","id":1})").op(), "ok");
  EXPECT_EQ(fast.call(R"({"op":"ping","id":1})").op(), "ok");
}

}  // namespace
}  // namespace wsa::test
