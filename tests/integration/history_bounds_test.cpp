// Retained state of the embedded broker is bounded node-wide (issue 8, docs/limits.md):
// --history-max-bytes caps what all tags retain together, --history-max-age drops old
// messages and forgets idle tags, and a subscription to a tag that never had a message
// leaves nothing behind. The recovery contract holds throughout: `since` from a dropped
// position, or from a forgotten life of a tag, is a gap, never a wrong or missing message.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "support/metrics_reader.h"
#include "support/process_probe.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

std::string pub(std::string_view tag, std::string_view data, int id = 0) {
  std::string out = R"({"op":"pub","tag":")" + std::string(tag) + R"(","data":)" +
                    std::string(data);
  if (id != 0) {
    out += ",\"id\":" + std::to_string(id);
  }
  return out + "}";
}

bool gaps_include(const json_message& ok, std::string_view tag) {
  if (!ok.has("/gaps")) {
    return false;
  }
  for (std::size_t i = 0; i < ok.size("/gaps"); ++i) {
    if (ok.str("/gaps/" + std::to_string(i)) == tag) {
      return true;
    }
  }
  return false;
}

bool wait_for_metric(uint16_t port, std::string_view name, uint64_t at_least,
                     std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (metric_sum(port, name) < at_least) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

TEST(HistoryBounds, FreshTagFloodStaysWithinTheBudgetAndTheBystanderIsServed) {
  small_sanitizer_quarantine();
  constexpr int tags = 2500;
  constexpr std::size_t message_bytes = 32 * 1024;  // 80 MB published in all
  constexpr uint64_t budget = 4 << 20;
  server_process server({"--no-auth", "--history-max-bytes", "4MiB"});
  ASSERT_TRUE(server.start());
  ws_client bystander = ws_client::connect(server.port());
  ASSERT_EQ(bystander.call(R"({"op":"sub","id":1,"tags":["bystander.news"]})").op(), "ok");
  ws_client attacker = ws_client::connect(server.port());
  const int64_t rss_before = rss_kib(server.pid());

  const std::string filler = "\"" + std::string(message_bytes, 'x') + "\"";
  uint64_t news = 0;
  for (int i = 0; i < tags; ++i) {
    attacker.send_text(pub("flood." + std::to_string(i), filler));
    if (i % 100 == 99) {
      // Paced by the attacker's own round trip; meanwhile the bystander is served.
      ASSERT_EQ(attacker.call(R"({"op":"ping","id":7})").op(), "ok");
      ASSERT_EQ(bystander.call(R"({"op":"ping","id":2})").op(), "ok");
      attacker.send_text(pub("bystander.news", R"({"n":)" + std::to_string(++news) + "}"));
      const json_message m = bystander.wait_for("msg");
      ASSERT_EQ(m.u64("/seq"), news);
    }
  }
  ASSERT_EQ(attacker.call(R"({"op":"ping","id":8})").op(), "ok");

  const std::string metrics = http_get(server.port(), "/metrics").body;
  EXPECT_LE(metric_sum_in(metrics, "wsagent_history_bytes"), budget);
  EXPECT_GT(metric_sum_in(metrics, "wsagent_history_evictions_total"), 0u);
  EXPECT_LT(metric_sum_in(metrics, "wsagent_tags_owned"), static_cast<uint64_t>(tags));
  const int64_t growth_kib = peak_rss_kib(server.pid()) - rss_before;
  ::testing::Test::RecordProperty("rss_growth_kib", static_cast<int>(growth_kib));
  EXPECT_LT(growth_kib, 48 * 1024) << "80 MB published to fresh tags, 4 MiB budget";

  // The bystander's tag lost its oldest messages too (they were older than most of the
  // flood): recovery from the start replays the newest ones, contiguous up to the top,
  // and reports the gap before them.
  ws_client late = ws_client::connect(server.port());
  const json_message ok =
      late.call(R"({"op":"sub","id":3,"tags":["bystander.news"],"since":{"bystander.news":0}})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_EQ(ok.u64("/seq/bystander.news"), news);
  ASSERT_EQ(late.call(R"({"op":"ping","id":4})").op(), "ok");  // the replay precedes it
  std::vector<uint64_t> replayed;
  while (late.kept() > 0) {
    const json_message m = late.next_json();
    ASSERT_EQ(m.op(), "msg") << m.text();
    replayed.push_back(m.u64("/seq"));
  }
  ASSERT_FALSE(replayed.empty()) << "the newest news fit in the budget";
  for (std::size_t i = 0; i < replayed.size(); ++i) {
    EXPECT_EQ(replayed[i], news - replayed.size() + 1 + i);
  }
  EXPECT_EQ(gaps_include(ok, "bystander.news"), replayed.front() > 1) << ok.text();
}

TEST(HistoryBounds, SinceAnEvictedPositionIsAGap) {
  server_process server({"--no-auth", "--history-max-bytes", "1MiB"});
  ASSERT_TRUE(server.start());
  ws_client publisher = ws_client::connect(server.port());
  for (int i = 1; i <= 3; ++i) {
    ASSERT_EQ(publisher.call(pub("kept.t", R"({"n":1})", i)).u64("/seq"),
              static_cast<uint64_t>(i));
  }
  ws_client reader = ws_client::connect(server.port());
  const json_message first = reader.call(R"({"op":"sub","id":1,"tags":["kept.t"]})");
  const std::string epoch = first.str("/epoch/kept.t");
  ASSERT_EQ(reader.call(R"({"op":"unsub","id":2,"tags":["kept.t"]})").op(), "ok");

  // 3 MB to other tags pushes kept.t's messages out of the 1 MiB budget.
  const std::string filler = "\"" + std::string(16 * 1024, 'y') + "\"";
  for (int i = 0; i < 200; ++i) {
    publisher.send_text(pub("other." + std::to_string(i), filler));
  }
  ASSERT_EQ(publisher.call(R"({"op":"ping","id":9})").op(), "ok");

  ws_client back = ws_client::connect(server.port());
  const json_message ok = back.call(
      R"({"op":"sub","id":3,"tags":["kept.t"],"since":{"kept.t":{"seq":1,"epoch":")" + epoch +
      R"("}}})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_TRUE(gaps_include(ok, "kept.t")) << "messages 2 and 3 are gone: " << ok.text();
  // Nothing from kept.t may follow: whatever is retained of it would be replayed, and
  // nothing is.
  EXPECT_EQ(back.call(R"({"op":"ping","id":4})").op(), "ok");
  EXPECT_EQ(back.kept(), 0u) << back.next_json().text();
}

TEST(HistoryBounds, AnIdleTagIsForgottenAndComesBackUnderANewEpoch) {
  server_process server({"--no-auth", "--history-max-age", "1s"});
  ASSERT_TRUE(server.start());
  ws_client client = ws_client::connect(server.port());
  ASSERT_EQ(client.call(pub("idle.t", "1", 1)).u64("/seq"), 1u);
  ASSERT_EQ(client.call(pub("idle.t", "2", 2)).u64("/seq"), 2u);
  const json_message first = client.call(R"({"op":"sub","id":3,"tags":["idle.t"]})");
  const std::string old_epoch = first.str("/epoch/idle.t");
  EXPECT_EQ(old_epoch, server.epoch());
  ASSERT_EQ(client.call(R"({"op":"unsub","id":4,"tags":["idle.t"]})").op(), "ok");

  ASSERT_TRUE(wait_for_metric(server.port(), "wsagent_tags_forgotten_total", 1))
      << "a tag idle past --history-max-age must leave memory";
  EXPECT_EQ(metric_sum(server.port(), "wsagent_tags_owned"), 0u);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_history_expired_total"), 2u);

  // Its next life starts at 1 under another epoch...
  ASSERT_EQ(client.call(pub("idle.t", "\"new\"", 5)).u64("/seq"), 1u);
  const json_message ok = client.call(
      R"({"op":"sub","id":6,"tags":["idle.t"],"since":{"idle.t":{"seq":2,"epoch":")" +
      old_epoch + R"("}}})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_NE(ok.str("/epoch/idle.t"), old_epoch);
  EXPECT_EQ(ok.u64("/seq/idle.t"), 1u);
  // ...so a client of the old life is told of the gap and given the new life from its start.
  EXPECT_TRUE(gaps_include(ok, "idle.t")) << ok.text();
  const json_message m = client.wait_for("msg");
  EXPECT_EQ(m.u64("/seq"), 1u);
  EXPECT_EQ(m.raw("data"), "\"new\"");
}

TEST(HistoryBounds, SubscriptionsToTagsWithoutMessagesLeaveNothing) {
  server_process server({"--no-auth", "--shards", "2"});
  ASSERT_TRUE(server.start());
  ws_client client = ws_client::connect(server.port());
  for (int batch = 0; batch < 10; ++batch) {
    std::string tags;
    for (int i = 0; i < 100; ++i) {
      tags += (i == 0 ? "\"empty." : ",\"empty.") + std::to_string(batch * 100 + i) + "\"";
    }
    ASSERT_EQ(client.call(R"({"op":"sub","id":1,"tags":[)" + tags + "]}").op(), "ok");
    EXPECT_GT(metric_sum(server.port(), "wsagent_tags_owned"), 0u);
    ASSERT_EQ(client.call(R"({"op":"unsub","id":2,"tags":[)" + tags + "]}").op(), "ok");
  }
  // The owners learn of the last unsubscription by mail: give them a moment.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (metric_sum(server.port(), "wsagent_tags_owned") != 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(metric_sum(server.port(), "wsagent_tags_owned"), 0u);
}

}  // namespace
}  // namespace wsa::test
