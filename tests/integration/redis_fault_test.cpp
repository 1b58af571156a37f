// Redis killed in the middle of a publishing run (issue 4, "Redis failures"): with append-only
// persistence (appendfsync always) no message that got an `ok` is lost; during the outage
// publishes get `err unavailable` (never a false ok), /readyz is 503, clients stay connected;
// after the restart the nodes reconnect, /readyz is 200 again, and subscribers (live, or
// recovering with `since`) get every acknowledged message.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "integration/redis_nodes.h"

namespace wsa::test {
namespace {

using clock_type = std::chrono::steady_clock;

struct run_state {
  std::map<uint64_t, std::string> acknowledged;  // seq -> data
  int unavailable = 0;
  uint64_t next_id = 1;
};

std::string data_of(int publisher, uint64_t id) {
  return R"({"p":)" + std::to_string(publisher) + R"(,"i":)" + std::to_string(id) + "}";
}

// Sends `count` publishes from each publisher without waiting, then (if `during` is given)
// runs it while they are in flight, then collects every reply: ok (recorded) or err
// unavailable (counted); anything else fails.
template <class During>
void publish_burst(std::vector<ws_client*>& publishers, std::string_view tag, int count,
                   run_state& state, During during) {
  std::vector<std::map<uint64_t, std::string>> sent(publishers.size());
  for (int k = 0; k < count; ++k) {
    for (std::size_t p = 0; p < publishers.size(); ++p) {
      const uint64_t id = state.next_id++;
      sent[p][id] = data_of(static_cast<int>(p), id);
      publishers[p]->send_text(pub_frame(tag, id, sent[p][id]));
    }
  }
  during();
  for (std::size_t p = 0; p < publishers.size(); ++p) {
    for (std::size_t k = 0; k < sent[p].size(); ++k) {
      const json_message reply = publishers[p]->next_json(std::chrono::seconds(10));
      const uint64_t id = std::stoull(std::string(reply.raw("id")));
      ASSERT_TRUE(sent[p].contains(id)) << reply.text();
      if (reply.op() == "ok") {
        const bool fresh = state.acknowledged.emplace(reply.u64("/seq"), sent[p][id]).second;
        EXPECT_TRUE(fresh) << "seq acknowledged twice: " << reply.text();
      } else {
        ASSERT_EQ(reply.op(), "err") << reply.text();
        ASSERT_EQ(reply.str("/code"), "unavailable") << reply.text();
        ++state.unavailable;
      }
    }
  }
}

// Reads `client`'s messages of `tag` up to seq `top`: contiguous from `first`, and every
// acknowledged seq carries its data.
void expect_stream(ws_client& client, std::string_view tag, uint64_t first, uint64_t top,
                   const std::map<uint64_t, std::string>& acknowledged) {
  for (uint64_t seq = first; seq <= top; ++seq) {
    const json_message m = client.next_json(std::chrono::seconds(10));
    ASSERT_EQ(m.op(), "msg") << m.text();
    ASSERT_EQ(m.str("/tag"), tag);
    ASSERT_EQ(m.u64("/seq"), seq) << "gap or duplicate";
    const auto it = acknowledged.find(seq);
    if (it != acknowledged.end()) {
      EXPECT_EQ(m.raw("data"), it->second) << "seq " << seq;
    }
  }
}

TEST(redis_fault, redis_killed_mid_run_loses_no_acknowledged_message) {
  redis_process redis({.password = "fault-secret", .appendonly = true});
  ASSERT_TRUE(redis.start());
  server_process a(redis_node_args(redis, "node-a", {"--history-size", "1000"}));
  server_process b(redis_node_args(redis, "node-b", {"--history-size", "1000"}));
  ASSERT_TRUE(start_redis_node(a));
  ASSERT_TRUE(start_redis_node(b));
  const std::string tag = "fault.t";
  const std::string sub_request = R"({"op":"sub","id":1,"tags":["fault.t"]})";

  // Live subscribers on both nodes, and one that will drop and recover with `since`.
  ws_client live_a = ws_client::connect(a.port());
  ws_client live_b = ws_client::connect(b.port());
  const json_message live_ok = live_a.call(sub_request);
  ASSERT_EQ(live_ok.op(), "ok") << live_ok.text();
  ASSERT_EQ(live_b.call(sub_request).op(), "ok");
  // A pattern subscriber (its ok comes once Redis has the PSUBSCRIBE): its node
  // re-subscribes the pattern after the restart and tells it what it may have missed.
  ws_client pattern_b = ws_client::connect(b.port());
  ASSERT_EQ(pattern_b.call(R"({"op":"sub","id":1,"tags":["fault.*"]})").op(), "ok");
  ws_client pub_a = ws_client::connect(a.port());
  ws_client pub_b = ws_client::connect(b.port());
  const std::string epoch = live_ok.str("/epoch/fault.t");
  std::vector<ws_client*> publishers = {&pub_a, &pub_b};
  run_state state;

  // Before: everything is acknowledged.
  publish_burst(publishers, tag, 20, state, [] {});
  ASSERT_EQ(state.unavailable, 0);
  uint64_t dropped_at = 0;
  {
    ws_client leaving = ws_client::connect(a.port());
    const json_message ok = leaving.call(sub_request);
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    dropped_at = ok.u64("/seq/fault.t");
    ASSERT_EQ(dropped_at, 40u);
  }

  // Kill Redis while a burst is in flight: each publish is either acknowledged (and then
  // fsync'd) or answered unavailable.
  publish_burst(publishers, tag, 50, state, [&] { redis.kill(); });
  EXPECT_TRUE(await_readyz(a.port(), 503, std::chrono::seconds(5)));
  EXPECT_TRUE(await_readyz(b.port(), 503, std::chrono::seconds(5)));

  // During the outage: err unavailable for pub and sub, 503 from the HTTP API.
  const int unavailable_before = state.unavailable;
  publish_burst(publishers, tag, 5, state, [] {});
  EXPECT_EQ(state.unavailable - unavailable_before, 10) << "an ok while Redis was down";
  for (ws_client* c : {&live_a, &live_b}) {
    const json_message reply = c->call(R"({"op":"sub","id":7,"tags":["fault.other"]})");
    EXPECT_EQ(reply.op(), "err") << reply.text();
    EXPECT_EQ(reply.has("/code") ? reply.str("/code") : "", "unavailable") << reply.text();
  }
  const std::string body = R"({"tag":"fault.t","data":"http"})";
  const http_response api = http_exchange(
      b.port(), "POST /api/publish HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(api.status, 503) << api.body;

  // Redis comes back with its append-only file; both nodes become ready again (ready: every
  // subscription, the pattern's included, is back in Redis).
  ASSERT_TRUE(redis.start());
  EXPECT_TRUE(await_readyz(a.port(), 200, std::chrono::seconds(15))) << a.log();
  EXPECT_TRUE(await_readyz(b.port(), 200, std::chrono::seconds(15))) << b.log();

  // After: publishing works again on both nodes (on every shard: retried while a shard
  // that /readyz did not ask is still reconnecting).
  for (int k = 0; k < 20; ++k) {
    for (std::size_t p = 0; p < publishers.size(); ++p) {
      const uint64_t id = state.next_id++;
      const std::string data = data_of(static_cast<int>(p), id);
      const uint64_t seq =
          publish_when_available(*publishers[p], tag, id, data, std::chrono::seconds(15));
      ASSERT_GT(seq, 0u);
      EXPECT_TRUE(state.acknowledged.emplace(seq, data).second);
    }
  }
  const uint64_t top = state.acknowledged.rbegin()->first;
  std::cerr << "acknowledged " << state.acknowledged.size() << ", unavailable "
            << state.unavailable << ", top seq " << top << "\n";

  // Live subscribers were kept, and their stream has no hole: the node refilled it.
  for (ws_client* c : {&live_a, &live_b}) {
    SCOPED_TRACE(c == &live_a ? "live subscriber on node A" : "live subscriber on node B");
    EXPECT_FALSE(c->eof());
    expect_stream(*c, tag, 1, top, state.acknowledged);
  }

  // The pattern subscriber: no duplicate, nothing out of order, and every acknowledged
  // message either delivered or announced by a `gap` notice in its place (patterns have no
  // history: what was published while the pattern was out of Redis is named, not refilled).
  {
    SCOPED_TRACE("pattern subscriber on node B");
    EXPECT_FALSE(pattern_b.eof());
    observed seen;
    read_until(pattern_b, tag, "fault.*", top, seen);
    std::set<uint64_t> acked;
    for (const auto& [seq, data] : state.acknowledged) {
      acked.insert(seq);
    }
    expect_nothing_silently_missed(seen, acked, top);
    EXPECT_EQ(seen.gaps_after.size(), 1u) << "one outage, one notice";
  }

  // Recovery with since {seq, epoch} on the other node: everything after it, no gap; and
  // from 0 on node A: every acknowledged seq is in Redis, under the same epoch.
  {
    ws_client back = ws_client::connect(b.port());
    const json_message ok = back.call(R"({"op":"sub","id":2,"tags":["fault.t"],"since":{"fault.t":{"seq":)" +
                                      std::to_string(dropped_at) + R"(,"epoch":)" + json_quote(epoch) + "}}}");
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    EXPECT_EQ(ok.str("/epoch/fault.t"), epoch) << "Redis kept the tag: the epoch must stay";
    EXPECT_FALSE(ok.has("/gaps")) << ok.text();
    EXPECT_EQ(ok.u64("/seq/fault.t"), top);
    expect_stream(back, tag, dropped_at + 1, top, state.acknowledged);
  }
  {
    ws_client reader = ws_client::connect(a.port());
    const json_message ok = reader.call(R"({"op":"sub","id":3,"tags":["fault.t"],"since":{"fault.t":0}})");
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    EXPECT_FALSE(ok.has("/gaps")) << ok.text();
    EXPECT_EQ(ok.u64("/seq/fault.t"), top);
    expect_stream(reader, tag, 1, top, state.acknowledged);
  }

  // Nobody was disconnected by a node.
  for (ws_client* c : {&live_a, &live_b, &pattern_b, &pub_a, &pub_b}) {
    EXPECT_EQ(c->call(R"({"op":"ping","id":"end"})").op(), "ok");
  }
}

TEST(redis_fault, redis_restarted_empty_starts_a_new_epoch_on_every_node) {
  redis_process redis({.password = "fault-secret"});  // no persistence: a restart loses all
  ASSERT_TRUE(redis.start());
  server_process a(redis_node_args(redis, "node-a"));
  server_process b(redis_node_args(redis, "node-b"));
  ASSERT_TRUE(start_redis_node(a));
  ASSERT_TRUE(start_redis_node(b));
  const std::string sub_request = R"({"op":"sub","id":1,"tags":["life.t"]})";
  ws_client live_b = ws_client::connect(b.port());
  const json_message first_ok = live_b.call(sub_request);
  ASSERT_EQ(first_ok.op(), "ok") << first_ok.text();
  const std::string old_epoch = first_ok.str("/epoch/life.t");
  ws_client pub_a = ws_client::connect(a.port());
  for (uint64_t n = 1; n <= 5; ++n) {
    EXPECT_EQ(publish_when_available(pub_a, "life.t", n, std::to_string(n), 1s), n);
    EXPECT_EQ(live_b.next_json().u64("/seq"), n);
  }

  redis.kill();
  ASSERT_TRUE(redis.start());
  EXPECT_TRUE(await_readyz(a.port(), 200, std::chrono::seconds(15))) << a.log();
  EXPECT_TRUE(await_readyz(b.port(), 200, std::chrono::seconds(15))) << b.log();

  // The tag starts a new life: seq from 1 again.
  for (uint64_t n = 1; n <= 3; ++n) {
    EXPECT_EQ(publish_when_available(pub_a, "life.t", 10 + n, "\"new " + std::to_string(n) + "\"",
                                     std::chrono::seconds(15)),
              n);
  }
  // Both nodes report the same, new epoch.
  ws_client on_a = ws_client::connect(a.port());
  ws_client on_b = ws_client::connect(b.port());
  const json_message ok_a = call_when_available(on_a, sub_request, std::chrono::seconds(15));
  const json_message ok_b = call_when_available(on_b, sub_request, std::chrono::seconds(15));
  ASSERT_EQ(ok_a.op(), "ok") << ok_a.text();
  ASSERT_EQ(ok_b.op(), "ok") << ok_b.text();
  EXPECT_EQ(ok_a.u64("/seq/life.t"), 3u);
  EXPECT_EQ(ok_b.u64("/seq/life.t"), 3u);
  EXPECT_NE(ok_a.str("/epoch/life.t"), old_epoch);
  EXPECT_EQ(ok_b.str("/epoch/life.t"), ok_a.str("/epoch/life.t"));

  // A client recovering with the old life's position is told about the gap and gets the
  // new life from its start.
  ws_client back = ws_client::connect(a.port());
  const json_message ok = call_when_available(
      back,
      R"({"op":"sub","id":2,"tags":["life.t"],"since":{"life.t":{"seq":5,"epoch":)" +
          json_quote(old_epoch) + "}}}",
      std::chrono::seconds(15));
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  ASSERT_TRUE(ok.has("/gaps")) << ok.text();
  EXPECT_EQ(ok.str("/gaps/0"), "life.t");
  for (uint64_t n = 1; n <= 3; ++n) {
    const json_message m = back.next_json();
    EXPECT_EQ(m.u64("/seq"), n);
    EXPECT_EQ(m.raw("data"), "\"new " + std::to_string(n) + "\"");
  }

  // The subscriber held through the restart stays connected, is told that its tag's
  // numbering restarted (what the old life had after seq 5, if anything, is gone), and gets
  // the new life's messages, each once and in order.
  const json_message notice = live_b.next_json(std::chrono::seconds(10));
  EXPECT_EQ(notice.text(), R"({"op":"gap","tags":["life.t"]})");
  for (uint64_t n = 1; n <= 3; ++n) {
    const json_message m = live_b.next_json(std::chrono::seconds(10));
    ASSERT_EQ(m.op(), "msg") << m.text();
    EXPECT_EQ(m.u64("/seq"), n);
    EXPECT_EQ(m.raw("data"), "\"new " + std::to_string(n) + "\"");
  }
  const uint64_t fence = publish_when_available(pub_a, "life.t", 99, "\"fence\"", 1s);
  EXPECT_EQ(live_b.next_json().u64("/seq"), fence);
}

TEST(redis_fault, frozen_redis_gets_no_false_ok_and_the_stream_is_refilled) {
  redis_process redis({.password = "fault-secret"});
  ASSERT_TRUE(redis.start());
  server_process a(redis_node_args(redis, "node-a"));
  server_process b(redis_node_args(redis, "node-b"));
  ASSERT_TRUE(start_redis_node(a));
  ASSERT_TRUE(start_redis_node(b));
  const std::string tag = "frz.t";
  ws_client live_a = ws_client::connect(a.port());
  ASSERT_EQ(live_a.call(R"({"op":"sub","id":1,"tags":["frz.t"]})").op(), "ok");
  ws_client pub_a = ws_client::connect(a.port());
  ws_client pub_b = ws_client::connect(b.port());
  std::vector<ws_client*> publishers = {&pub_a, &pub_b};
  run_state state;
  publish_burst(publishers, tag, 5, state, [] {});
  ASSERT_EQ(state.unavailable, 0);

  // Frozen: connections stay open, nothing is answered. The nodes give up on the replies
  // (their reply timeout) and answer unavailable; Redis cannot have acknowledged anything.
  redis.pause();
  const std::size_t acknowledged_before = state.acknowledged.size();
  publish_burst(publishers, tag, 5, state, [] {});
  EXPECT_EQ(state.acknowledged.size(), acknowledged_before) << "an ok from a frozen Redis";
  EXPECT_EQ(state.unavailable, 10);
  EXPECT_TRUE(await_readyz(a.port(), 503, std::chrono::seconds(10)));
  EXPECT_TRUE(await_readyz(b.port(), 503, std::chrono::seconds(10)));

  // Thawed: Redis may still run the commands it had received (they were answered
  // unavailable: a false err is allowed, a false ok is not); the nodes reconnect.
  redis.resume();
  EXPECT_TRUE(await_readyz(a.port(), 200, std::chrono::seconds(15))) << a.log();
  EXPECT_TRUE(await_readyz(b.port(), 200, std::chrono::seconds(15))) << b.log();
  for (int k = 0; k < 5; ++k) {
    for (std::size_t p = 0; p < publishers.size(); ++p) {
      const uint64_t id = state.next_id++;
      const std::string data = data_of(static_cast<int>(p), id);
      const uint64_t seq =
          publish_when_available(*publishers[p], tag, id, data, std::chrono::seconds(15));
      ASSERT_GT(seq, 0u);
      EXPECT_TRUE(state.acknowledged.emplace(seq, data).second);
    }
  }
  const uint64_t top = state.acknowledged.rbegin()->first;
  std::cerr << "acknowledged " << state.acknowledged.size() << ", top seq " << top << "\n";
  EXPECT_FALSE(live_a.eof());
  expect_stream(live_a, tag, 1, top, state.acknowledged);
  const uint64_t fence = publish_when_available(pub_b, tag, 999, "\"fence\"", 1s);
  EXPECT_EQ(live_a.next_json().u64("/seq"), fence) << "a duplicate came before the fence";
}

}  // namespace
}  // namespace wsa::test
