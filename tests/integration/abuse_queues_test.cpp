// Abuse: a client that makes one shard send another far more than the ring between them
// holds (issue 8, "Queues between parts are bounded"). Past --max-shard-backlog, publishes
// whose records would join the backlog are refused with `unavailable` (nothing done); what
// was accepted still arrives, once, in order; the shard keeps serving a bystander.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "support/abuse.h"
#include "support/frame_codec.h"
#include "support/process_probe.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

TEST(AbuseQueues, PublishesPastTheShardBacklogAreRefusedAndNothingAcceptedIsLost) {
  small_sanitizer_quarantine();
  // Two shards: whichever shard the clients land on, about half the tags are owned by the
  // other one, so every burst crosses between them (publish records one way, deliveries
  // the other), 60 KiB a message. No history: the memory measured is the queues'.
  server_process server({"--no-auth", "--shards", "2", "--max-message-bytes", "64KiB",
                         "--max-outbound-bytes", "64MiB", "--max-shard-backlog", "1MiB",
                         "--pub-rate", "0", "--history-size", "0"});
  ASSERT_TRUE(server.start());
  constexpr int tag_count = 8;
  std::string tags;
  for (int t = 0; t < tag_count; ++t) {
    tags += (t ? ",\"q." : "\"q.") + std::to_string(t) + "\"";
  }
  ws_client reader = ws_client::connect(server.port());
  ASSERT_EQ(reader.call(R"({"op":"sub","id":1,"tags":[)" + tags + "]}").op(), "ok");
  ws_client writer = ws_client::connect(server.port());
  bystander by(server.port());
  const std::string filler(60 * 1024, 'q');
  std::string burst;  // 128 messages of 60 KiB (7.5 MiB) in one write
  for (int k = 0; k < 128; ++k) {
    burst += encode_frame({.payload = R"({"op":"pub","id":1,"tag":"q.)" +
                                      std::to_string(k % tag_count) + R"(","data":")" +
                                      filler + "\"}"});
  }
  const int64_t base = rss_kib(server.pid());
  answer_counts total;
  std::map<std::string, uint64_t> last_seq;
  keep_pinging_during(by, [&] {
    // Whether the backlog passes its bound depends on how fast the other shard drains it
    // (on a quiet machine with both shards on their own core it may never): what must hold
    // either way is that nothing accepted is lost, refusals are counted, memory stays
    // bounded and the backlog drains.
    for (int round = 0; round < 30 && total.refused == 0; ++round) {
      writer.send_raw(burst);
      const answer_counts counts = count_answers(writer, 128, "unavailable");
      total.ok += counts.ok;
      total.refused += counts.refused;
      // Every accepted message arrives: per tag, seq from 1 up, no gap, no repeat.
      for (int k = 0; k < counts.ok; ++k) {
        const json_message m = reader.next_json(std::chrono::seconds(30));
        ASSERT_EQ(m.op(), "msg") << m.text().substr(0, 100);
        uint64_t& last = last_seq[m.str("/tag")];
        ASSERT_EQ(m.u64("/seq"), last + 1) << "gap or repeat on " << m.str("/tag");
        last = m.u64("/seq");
      }
    }
  });
  const double grown = grown_mib(server.pid(), base);
  RecordProperty("accepted", total.ok);
  RecordProperty("refused", total.refused);
  RecordProperty("rss_growth_kib", static_cast<int>(grown * 1024));
  EXPECT_GT(total.ok, 0);
  EXPECT_EQ(metric_total(server.port(), "wsagent_shard_backlog_refusals_total"),
            static_cast<uint64_t>(total.refused));
  // Drained: nothing waits between the shards any more.
  EXPECT_EQ(metric_total(server.port(), "wsagent_shard_backlog_bytes"), 0u);
  EXPECT_LT(grown, 64.0) << "after " << total.ok << " accepted publishes of 60 KiB";
  by.round_trip();
}

}  // namespace
}  // namespace wsa::test
