// A shard starts at most 64 sends per loop turn (src/server/shard_io.cpp, flush_dirty): a
// fan-out to more subscribers than that is spread over several turns, the connections left
// over waiting in order. Every subscriber still gets every message once, in seq order, and
// connections that go away while waiting for their turn are freed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/metrics_reader.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

// Several times the bound of sends per turn (64), on one shard.
constexpr int subscriber_count = 300;
constexpr int message_count = 20;

std::vector<ws_client> subscribe_many(uint16_t port, int count, std::string_view tag) {
  std::vector<ws_client> subs;
  const std::string sub = R"({"op":"sub","id":1,"tags":[")" + std::string(tag) + "\"]}";
  for (int i = 0; i < count; ++i) {
    subs.push_back(ws_client::connect(port));
    EXPECT_EQ(subs.back().call(sub).op(), "ok");
  }
  return subs;
}

void publish_burst(ws_client& publisher, std::string_view tag, int count) {
  // Sent back to back, unanswered: the fan-outs pile up in the subscribers' queues.
  for (int n = 1; n <= count; ++n) {
    publisher.send_text(R"({"op":"pub","tag":")" + std::string(tag) + R"(","data":{"n":)" +
                        std::to_string(n) + "}}");
  }
}

void expect_every_message_in_order(ws_client& sub, int count, int index) {
  for (int n = 1; n <= count; ++n) {
    const json_message m = sub.next_json();
    ASSERT_EQ(m.op(), "msg") << "subscriber " << index << ": " << m.text();
    ASSERT_EQ(m.u64("/seq"), static_cast<uint64_t>(n)) << "subscriber " << index;
    ASSERT_EQ(m.u64("/data/n"), static_cast<uint64_t>(n)) << "subscriber " << index;
  }
}

TEST(SendTurns, FanOutWiderThanOneTurnReachesEverySubscriberInOrder) {
  server_process server({"--no-auth", "--shards", "1", "--pub-rate", "0"});
  ASSERT_TRUE(server.start());
  std::vector<ws_client> subs = subscribe_many(server.port(), subscriber_count, "wide");
  const std::string before = http_get(server.port(), "/metrics").body;
  ws_client publisher = ws_client::connect(server.port());
  publish_burst(publisher, "wide", message_count);
  for (int i = 0; i < subscriber_count; ++i) {
    expect_every_message_in_order(subs[i], message_count, i);
    if (::testing::Test::HasFatalFailure()) {
      return;
    }
  }
  // Nothing more was queued for anyone: a ping's answer is the next frame (read as it
  // comes: call() would look past a stray msg for the answer).
  for (int i = 0; i < subscriber_count; i += 37) {
    subs[i].send_text(R"({"op":"ping","id":9})");
    const json_message answer = subs[i].next_json();
    ASSERT_EQ(answer.op(), "ok") << "subscriber " << i << ": " << answer.text();
    EXPECT_EQ(answer.u64("/id"), 9u) << "subscriber " << i << ": " << answer.text();
  }
  const std::string after = http_get(server.port(), "/metrics").body;
  // The bound was reached: some turn left connections with output to the next one.
  EXPECT_GT(metric_sum_in(after, "wsagent_send_turns_split_total"),
            metric_sum_in(before, "wsagent_send_turns_split_total"));
  EXPECT_GE(metric_sum_in(after, "wsagent_sends_total") -
                metric_sum_in(before, "wsagent_sends_total"),
            static_cast<uint64_t>(subscriber_count))
      << "at least one send per subscriber";
  EXPECT_GT(metric_sum_in(after, "wsagent_loop_turns_total"),
            metric_sum_in(before, "wsagent_loop_turns_total"));
}

TEST(SendTurns, SubscribersGoneWhileWaitingForTheirTurnAreFreed) {
  server_process server({"--no-auth", "--shards", "1", "--pub-rate", "0"});
  ASSERT_TRUE(server.start());
  std::vector<ws_client> subs = subscribe_many(server.port(), subscriber_count, "wide");
  ws_client publisher = ws_client::connect(server.port());
  publish_burst(publisher, "wide", message_count);
  // Every other subscriber goes away at once, most with output still queued (some still
  // waiting in the shard's queue of connections to send to).
  std::vector<ws_client> kept;
  for (int i = 0; i < subscriber_count; ++i) {
    if (i % 2 == 0) {
      kept.push_back(std::move(subs[i]));
    }
  }
  subs.clear();
  for (std::size_t i = 0; i < kept.size(); ++i) {
    expect_every_message_in_order(kept[i], message_count, static_cast<int>(i) * 2);
    if (::testing::Test::HasFatalFailure()) {
      return;
    }
  }
  // The leavers are freed (each one's descriptor closed, the gauge back down): kept
  // subscribers, the publisher and the scrape itself remain.
  const uint64_t expected = kept.size() + 2;
  EXPECT_EQ(await_metric_sum(server.port(), "wsagent_connections", expected), expected);
  publisher.send_text(R"({"op":"pub","tag":"wide","data":{"n":21}})");
  for (std::size_t i = 0; i < kept.size(); i += 25) {
    EXPECT_EQ(kept[i].next_json().u64("/seq"), 21u) << "subscriber " << i * 2;
  }
}

}  // namespace
}  // namespace wsa::test
