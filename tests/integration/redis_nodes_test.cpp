// Two wsagent nodes on one Redis (issue 4, "How it is tested"): clients on either node share
// tags, with one gap-free seq and one epoch per tag; many publishers on both nodes give every
// subscriber every message once, in seq order; patterns and exact subscriptions on one
// connection deliver once; a client recovers on the other node with `since`.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "integration/redis_nodes.h"

namespace wsa::test {
namespace {

constexpr std::string_view password = "it-secret";

std::string data_of(int publisher, int n) {
  return R"({"p":)" + std::to_string(publisher) + R"(,"n":)" + std::to_string(n) + "}";
}

// The next frame, which must be a `msg`.
json_message next_msg(ws_client& c) {
  json_message m = c.next_json();
  EXPECT_EQ(m.op(), "msg") << m.text();
  return m;
}

class redis_nodes : public two_redis_nodes {
 protected:
  redis_nodes() : two_redis_nodes(std::string(password)) {}
};

TEST_F(redis_nodes, clients_on_two_nodes_exchange_both_ways_with_one_seq_and_epoch) {
  start_nodes();
  ws_client on_a = ws_client::connect(a_->port());
  ws_client on_b = ws_client::connect(b_->port());
  EXPECT_EQ(on_a.hello().str("/node"), "node-a");
  EXPECT_EQ(on_b.hello().str("/node"), "node-b");
  const json_message sub_a = on_a.call(R"({"op":"sub","id":1,"tags":["room.x"]})");
  const json_message sub_b = on_b.call(R"({"op":"sub","id":1,"tags":["room.x"]})");
  ASSERT_EQ(sub_a.op(), "ok") << sub_a.text();
  ASSERT_EQ(sub_b.op(), "ok") << sub_b.text();
  EXPECT_EQ(sub_a.u64("/seq/room.x"), 0u);
  EXPECT_EQ(sub_b.u64("/seq/room.x"), 0u);

  // Alternate: A publishes, then B, each waiting for its ok; both see every message.
  constexpr int rounds = 10;
  std::vector<std::string> sent;  // by seq - 1
  for (int r = 0; r < rounds; ++r) {
    for (ws_client* from : {&on_a, &on_b}) {
      const int who = from == &on_a ? 0 : 1;
      const std::string data = data_of(who, r);
      EXPECT_EQ(publish_ok(*from, "room.x", 100 + sent.size(), data), sent.size() + 1)
          << "seq must grow by one across nodes";
      sent.push_back(data);
    }
  }
  // A backend publishing over HTTP on node B takes the next seq as well.
  const std::string body = R"({"tag":"room.x","data":{"via":"http"}})";
  const http_response api = http_exchange(
      b_->port(), "POST /api/publish HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  "Connection: close\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(api.status, 200) << api.body;
  EXPECT_NE(api.body.find("\"seq\":" + std::to_string(sent.size() + 1)), std::string::npos)
      << api.body;
  sent.push_back(R"({"via":"http"})");
  for (ws_client* to : {&on_a, &on_b}) {
    SCOPED_TRACE(to == &on_a ? "client on node A" : "client on node B");
    for (std::size_t k = 0; k < sent.size(); ++k) {
      const json_message m = next_msg(*to);
      EXPECT_EQ(m.str("/tag"), "room.x");
      EXPECT_EQ(m.u64("/seq"), k + 1);
      EXPECT_EQ(m.raw("data"), sent[k]);
    }
  }

  // Both nodes report the same top and epoch for the tag.
  ws_client late_a = ws_client::connect(a_->port());
  ws_client late_b = ws_client::connect(b_->port());
  const json_message top_a = late_a.call(R"({"op":"sub","id":2,"tags":["room.x"]})");
  const json_message top_b = late_b.call(R"({"op":"sub","id":2,"tags":["room.x"]})");
  ASSERT_EQ(top_a.op(), "ok") << top_a.text();
  ASSERT_EQ(top_b.op(), "ok") << top_b.text();
  EXPECT_EQ(top_a.u64("/seq/room.x"), sent.size());
  EXPECT_EQ(top_b.u64("/seq/room.x"), sent.size());
  const std::string epoch = top_a.str("/epoch/room.x");
  EXPECT_FALSE(epoch.empty());
  EXPECT_EQ(top_b.str("/epoch/room.x"), epoch);
  EXPECT_EQ(sub_a.str("/epoch/room.x"), epoch);
  EXPECT_EQ(sub_b.str("/epoch/room.x"), epoch);

  // A fence: the next message on each connection is the next seq (no duplicate came first).
  const uint64_t fence = publish_ok(on_b, "room.x", 999, R"("fence")");
  for (ws_client* to : {&on_a, &on_b, &late_a, &late_b}) {
    const json_message m = next_msg(*to);
    EXPECT_EQ(m.u64("/seq"), fence);
    EXPECT_EQ(m.raw("data"), R"("fence")");
  }
}

TEST_F(redis_nodes, eight_publishers_on_two_nodes_every_subscriber_gets_every_message_once) {
  start_nodes();
  constexpr int publisher_count = 8;
  constexpr int per_publisher = 50;
  constexpr int window = 5;  // publishes in flight per publisher
  constexpr int subscribers_per_node = 3;
  const std::string tag = "load.t";

  std::vector<ws_client> subscribers;
  for (int i = 0; i < 2 * subscribers_per_node; ++i) {
    subscribers.push_back(ws_client::connect(i % 2 == 0 ? a_->port() : b_->port()));
    // One subscriber per node by pattern, the others by the exact tag.
    const std::string tags = i < 2 ? R"("load.*")" : json_quote(tag);
    const json_message ok = subscribers.back().call(R"({"op":"sub","id":1,"tags":[)" + tags + "]}");
    ASSERT_EQ(ok.op(), "ok") << ok.text();
  }
  std::vector<ws_client> publishers;
  for (int p = 0; p < publisher_count; ++p) {
    publishers.push_back(ws_client::connect(p % 2 == 0 ? a_->port() : b_->port()));
  }

  // Every publisher keeps `window` publishes in flight, all publishers interleaved.
  std::map<uint64_t, std::string> acknowledged;  // seq -> data
  std::vector<uint64_t> last_seq_of(publisher_count, 0);
  for (int base = 0; base < per_publisher; base += window) {
    for (int p = 0; p < publisher_count; ++p) {
      for (int n = base; n < base + window; ++n) {
        publishers[p].send_text(pub_frame(tag, static_cast<uint64_t>(n), data_of(p, n)));
      }
    }
    for (int p = 0; p < publisher_count; ++p) {
      for (int n = base; n < base + window; ++n) {
        const json_message reply = publishers[p].next_json();
        ASSERT_EQ(reply.op(), "ok") << reply.text();
        ASSERT_EQ(reply.raw("id"), std::to_string(n)) << "replies out of order";
        const uint64_t seq = reply.u64("/seq");
        EXPECT_GT(seq, last_seq_of[p]) << "one connection's publishes reordered";
        last_seq_of[p] = seq;
        const bool fresh = acknowledged.emplace(seq, data_of(p, n)).second;
        EXPECT_TRUE(fresh) << "seq " << seq << " acknowledged twice";
      }
    }
  }
  const uint64_t total = publisher_count * per_publisher;
  ASSERT_EQ(acknowledged.size(), total);
  EXPECT_EQ(acknowledged.begin()->first, 1u);
  EXPECT_EQ(acknowledged.rbegin()->first, total) << "acknowledged seqs are not gap-free";

  // A fence after everything: a duplicate anywhere before it breaks contiguity.
  const uint64_t fence = publish_ok(publishers[1], tag, 9999, R"("fence")");
  EXPECT_EQ(fence, total + 1);
  acknowledged.emplace(fence, R"("fence")");
  for (std::size_t i = 0; i < subscribers.size(); ++i) {
    SCOPED_TRACE("subscriber " + std::to_string(i) + (i % 2 == 0 ? " on node A" : " on node B"));
    uint64_t expected = 1;
    while (expected <= fence) {
      const json_message m = next_msg(subscribers[i]);
      ASSERT_EQ(m.str("/tag"), tag);
      ASSERT_EQ(m.u64("/seq"), expected) << "not contiguous, or a duplicate";
      EXPECT_EQ(m.raw("data"), acknowledged[expected]) << "seq " << expected;
      ++expected;
    }
  }
}

TEST_F(redis_nodes, patterns_and_exact_on_one_connection_across_nodes_deliver_once) {
  start_nodes();
  // Each node: one connection holding chat.*, chat.> and chat.a together, one with chat.>
  // alone and one with chat.* alone (patterns-only requests).
  struct holder {
    ws_client client;
    std::set<std::string> expects;  // tags it must get
  };
  const std::vector<std::string> tags = {"chat.a", "chat.b", "chat.b.c", "other.x"};
  std::vector<holder> holders;
  for (uint16_t port : {a_->port(), b_->port()}) {
    holders.push_back({ws_client::connect(port), {"chat.a", "chat.b", "chat.b.c"}});
    holders.push_back({ws_client::connect(port), {"chat.a", "chat.b", "chat.b.c"}});
    holders.push_back({ws_client::connect(port), {"chat.a", "chat.b"}});
    const json_message all =
        holders[holders.size() - 3].client.call(R"({"op":"sub","id":1,"tags":["chat.*","chat.>","chat.a"]})");
    const json_message deep = holders[holders.size() - 2].client.call(R"({"op":"sub","id":1,"tags":["chat.>"]})");
    const json_message one = holders[holders.size() - 1].client.call(R"({"op":"sub","id":1,"tags":["chat.*"]})");
    for (const json_message* ok : {&all, &deep, &one}) {
      ASSERT_EQ(ok->op(), "ok") << ok->text();
    }
    EXPECT_EQ(all.size("/seq"), 1u) << all.text();
  }

  ws_client pub_a = ws_client::connect(a_->port());
  ws_client pub_b = ws_client::connect(b_->port());
  constexpr int rounds = 5;
  uint64_t id = 0;
  std::map<std::string, uint64_t> top;
  for (int r = 0; r < rounds; ++r) {
    for (const std::string& t : tags) {
      for (ws_client* from : {&pub_a, &pub_b}) {
        ++id;
        const uint64_t seq = publish_ok(*from, t, id, std::to_string(id));
        EXPECT_EQ(seq, top[t] + 1);
        top[t] = seq;
      }
    }
  }
  // A fence per tag: every holder reads until it has the fence of each tag it expects.
  for (const std::string& t : tags) {
    top[t] = publish_ok(pub_b, t, ++id, R"("fence")");
  }
  for (std::size_t h = 0; h < holders.size(); ++h) {
    SCOPED_TRACE("holder " + std::to_string(h) + (h < 3 ? " on node A" : " on node B"));
    std::map<std::string, uint64_t> last;
    std::size_t fences_seen = 0;
    while (fences_seen < holders[h].expects.size()) {
      const json_message m = next_msg(holders[h].client);
      const std::string t = m.str("/tag");
      ASSERT_TRUE(holders[h].expects.contains(t)) << "not subscribed to: " << m.text();
      const uint64_t seq = m.u64("/seq");
      ASSERT_EQ(seq, last[t] + 1) << t << ": duplicate or gap";
      last[t] = seq;
      if (seq == top[t]) {
        ++fences_seen;
      }
    }
    for (const std::string& t : holders[h].expects) {
      EXPECT_EQ(last[t], top[t]) << t;
    }
  }
}

TEST_F(redis_nodes, recovery_on_the_other_node_gets_exactly_the_missed_then_live) {
  start_nodes({"--history-size", "10"});
  const std::string tag = "rec.t";
  ws_client pub_a = ws_client::connect(a_->port());
  ws_client pub_b = ws_client::connect(b_->port());
  uint64_t id = 0;

  // Subscribed on node A: sees 1..3, remembers seq and epoch, drops.
  uint64_t last = 0;
  std::string epoch;
  {
    ws_client client = ws_client::connect(a_->port());
    const json_message ok = client.call(R"({"op":"sub","id":1,"tags":["rec.t"]})");
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    epoch = ok.str("/epoch/rec.t");
    for (int n = 1; n <= 3; ++n) {
      publish_ok(pub_b, tag, ++id, std::to_string(n));
      last = next_msg(client).u64("/seq");
    }
    ASSERT_EQ(last, 3u);
  }
  for (int n = 4; n <= 8; ++n) {
    EXPECT_EQ(publish_ok(pub_b, tag, ++id, std::to_string(n)), static_cast<uint64_t>(n));
  }

  // Back on node B with since {seq, epoch}: exactly 4..8, then live 9, 10 from node A.
  {
    ws_client client = ws_client::connect(b_->port());
    const json_message ok = client.call(R"({"op":"sub","id":2,"tags":["rec.t"],"since":{"rec.t":{"seq":)" +
                                        std::to_string(last) + R"(,"epoch":)" + json_quote(epoch) + "}}}");
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    EXPECT_EQ(ok.u64("/seq/rec.t"), 8u);
    EXPECT_EQ(ok.str("/epoch/rec.t"), epoch) << "the other node reports another epoch";
    EXPECT_FALSE(ok.has("/gaps")) << ok.text();
    for (uint64_t seq = 4; seq <= 8; ++seq) {
      const json_message m = next_msg(client);
      EXPECT_EQ(m.u64("/seq"), seq);
      EXPECT_EQ(m.raw("data"), std::to_string(seq));
    }
    for (uint64_t seq = 9; seq <= 10; ++seq) {
      EXPECT_EQ(publish_ok(pub_a, tag, ++id, std::to_string(seq)), seq);
      const json_message m = next_msg(client);
      EXPECT_EQ(m.u64("/seq"), seq) << "live after replay";
      EXPECT_EQ(m.raw("data"), std::to_string(seq));
    }
    last = 10;
  }

  // 15 more while away, history 10: recovery on node A reports the gap and replays 16..25.
  for (int n = 11; n <= 25; ++n) {
    publish_ok(pub_b, tag, ++id, std::to_string(n));
  }
  {
    ws_client client = ws_client::connect(a_->port());
    const json_message ok = client.call(R"({"op":"sub","id":3,"tags":["rec.t"],"since":{"rec.t":{"seq":)" +
                                        std::to_string(last) + R"(,"epoch":)" + json_quote(epoch) + "}}}");
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    EXPECT_EQ(ok.u64("/seq/rec.t"), 25u);
    ASSERT_TRUE(ok.has("/gaps")) << ok.text();
    ASSERT_EQ(ok.size("/gaps"), 1u) << ok.text();
    EXPECT_EQ(ok.str("/gaps/0"), tag);
    for (uint64_t seq = 16; seq <= 25; ++seq) {
      const json_message m = next_msg(client);
      EXPECT_EQ(m.u64("/seq"), seq) << "the retained history, in order";
      EXPECT_EQ(m.raw("data"), std::to_string(seq));
    }
    const uint64_t fence = publish_ok(pub_b, tag, ++id, R"("fence")");
    EXPECT_EQ(next_msg(client).u64("/seq"), fence) << "a duplicate came before the live message";
  }

  // A stale epoch is a gap too, with everything retained replayed.
  {
    ws_client client = ws_client::connect(b_->port());
    const json_message ok = client.call(
        R"({"op":"sub","id":4,"tags":["rec.t"],"since":{"rec.t":{"seq":20,"epoch":"00000000"}}})");
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    ASSERT_TRUE(ok.has("/gaps")) << ok.text();
    EXPECT_EQ(ok.str("/gaps/0"), tag);
    for (uint64_t seq = 17; seq <= 26; ++seq) {
      EXPECT_EQ(next_msg(client).u64("/seq"), seq);
    }
  }
}

// After the `ok` of a sub, messages published anywhere reach the subscriber (docs/protocol.md:
// live messages follow the ok). Each round a new pattern, so each needs a new PSUBSCRIBE.
TEST_F(redis_nodes, pattern_subscription_is_live_once_acknowledged) {
  redis_process redis({.password = std::string(password), .appendonly = true});
  ASSERT_TRUE(redis.start());
  server_process a(redis_node_args(redis, "node-a"));
  server_process b(redis_node_args(redis, "node-b"));
  ASSERT_TRUE(start_redis_node(a));
  ASSERT_TRUE(start_redis_node(b));
  ws_client pub_a = ws_client::connect(a.port());
  int missed = 0;
  for (int round = 0; round < 100; ++round) {
    const std::string prefix = "fresh" + std::to_string(round);
    ws_client subscriber = ws_client::connect(b.port());
    const json_message ok =
        subscriber.call(R"({"op":"sub","id":1,"tags":[")" + prefix + R"(.*"]})");
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    EXPECT_EQ(publish_ok(pub_a, prefix + ".x", static_cast<uint64_t>(round), "1"), 1u);
    const auto frame = subscriber.try_next_message(std::chrono::seconds(2));
    if (!frame) {
      ++missed;
      continue;
    }
    const json_message m(frame->payload);
    EXPECT_EQ(m.str("/tag"), prefix + ".x");
  }
  EXPECT_EQ(missed, 0) << "rounds whose message never reached the pattern subscriber";
}

// As in the fault test's first run: on node B an exact subscriber and a pattern subscriber
// of one tag, then a pipelined burst from both nodes: the pattern subscriber gets all.
TEST_F(redis_nodes, pattern_and_exact_subscribers_on_one_node_get_a_burst_from_both_nodes) {
  start_nodes();
  ws_client live_a = ws_client::connect(a_->port());
  ws_client live_b = ws_client::connect(b_->port());
  ws_client pattern_b = ws_client::connect(b_->port());
  ASSERT_EQ(live_a.call(R"({"op":"sub","id":1,"tags":["burst.t"]})").op(), "ok");
  ASSERT_EQ(live_b.call(R"({"op":"sub","id":1,"tags":["burst.t"]})").op(), "ok");
  ASSERT_EQ(pattern_b.call(R"({"op":"sub","id":1,"tags":["burst.*"]})").op(), "ok");
  ws_client pub_a = ws_client::connect(a_->port());
  ws_client pub_b = ws_client::connect(b_->port());
  constexpr uint64_t per_publisher = 20;
  for (uint64_t n = 0; n < per_publisher; ++n) {
    pub_a.send_text(pub_frame("burst.t", n, "\"a\""));
    pub_b.send_text(pub_frame("burst.t", n, "\"b\""));
  }
  for (ws_client* p : {&pub_a, &pub_b}) {
    for (uint64_t n = 0; n < per_publisher; ++n) {
      ASSERT_EQ(p->next_json().op(), "ok");
    }
  }
  for (ws_client* c : {&live_a, &live_b, &pattern_b}) {
    SCOPED_TRACE(c == &pattern_b ? "pattern subscriber on B" : "exact subscriber");
    for (uint64_t seq = 1; seq <= 2 * per_publisher; ++seq) {
      const json_message m = next_msg(*c);
      ASSERT_EQ(m.u64("/seq"), seq) << m.text();
    }
  }
}

}  // namespace
}  // namespace wsa::test
