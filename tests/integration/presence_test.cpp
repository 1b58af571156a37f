// Protocol 1.1 presence against the real binary (docs/protocol.md "Presence"): the
// `presence` request, join/leave events for subscribers that asked for them, `who` from the
// token, leaving on unsub and close, and the bounds. One node (embedded broker, two shards,
// so that members and watchers sit on other shards than the tag's owner).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include "integration/redis_nodes.h"
#include "support/hs256_token.h"
#include "support/metrics_reader.h"
#include "support/scratch_dir.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

const std::string secret = "presence-test-secret-of-32-bytes!";

// A who object's connection, "<node> <conn>" (connection names are unique per node).
std::string who_at(const json_message& m, const std::string& pointer) {
  return m.str(pointer + "/node") + " " + m.str(pointer + "/conn");
}

// The connection of every entry of a presence answer's `who`.
std::set<std::string> conns_of(const json_message& ok) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < ok.size("/who"); ++i) {
    out.insert(who_at(ok, "/who/" + std::to_string(i)));
  }
  return out;
}

std::string conn_of(const ws_client& c) {
  return c.hello().str("/node") + " " + c.hello().str("/conn");
}

// Sends a ping and returns the frames that came before its answer.
std::vector<json_message> frames_before_pong(ws_client& c, int id) {
  c.send_text(R"({"op":"ping","id":)" + std::to_string(id) + "}");
  std::vector<json_message> got;
  for (;;) {
    json_message m = c.next_json();
    if (m.op() == "ok" && m.raw("id") == std::to_string(id)) {
      return got;
    }
    got.push_back(std::move(m));
  }
}

TEST(Presence, CountJoinAndLeaveOnOneNode) {
  server_process server({"--no-auth", "--shards", "2"});
  ASSERT_TRUE(server.start());
  ws_client watcher = ws_client::connect(server.port());
  ws_client quiet = ws_client::connect(server.port());  // subscribed, no events asked
  ASSERT_EQ(watcher.call(R"({"op":"sub","id":1,"tags":["room.a"],"presence":true})").op(), "ok");
  ASSERT_EQ(quiet.call(R"({"op":"sub","id":1,"tags":["room.a"]})").op(), "ok");
  const json_message first = watcher.wait_for("join");
  EXPECT_EQ(first.str("/tag"), "room.a");
  EXPECT_EQ(who_at(first, "/who"), conn_of(quiet)) << "no event about oneself";
  EXPECT_FALSE(first.has("/who/sub")) << "no subject with --no-auth";

  std::vector<ws_client> others;
  for (int i = 0; i < 4; ++i) {
    others.push_back(ws_client::connect(server.port()));
    // A pattern subscription is not a member of the tag.
    ASSERT_EQ(others.back().call(R"({"op":"sub","id":2,"tags":["room.a","room.*"]})").op(), "ok");
    EXPECT_EQ(who_at(watcher.wait_for("join"), "/who"), conn_of(others.back()));
  }
  const json_message ok = quiet.call(R"({"op":"presence","id":7,"tag":"room.a"})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_EQ(ok.u64("/count"), 6u);
  std::set<std::string> expected = {conn_of(watcher), conn_of(quiet)};
  for (const ws_client& o : others) {
    expected.insert(conn_of(o));
  }
  EXPECT_EQ(conns_of(ok), expected);

  // unsub leaves; a close leaves every tag.
  ASSERT_EQ(others[0].call(R"({"op":"unsub","id":3,"tags":["room.a"]})").op(), "ok");
  json_message leave = watcher.wait_for("leave");
  EXPECT_EQ(leave.str("/tag"), "room.a");
  EXPECT_EQ(who_at(leave, "/who"), conn_of(others[0]));
  const std::string closed = conn_of(others[1]);
  others[1].send_close();
  ASSERT_TRUE(others[1].wait_eof());
  EXPECT_EQ(who_at(watcher.wait_for("leave"), "/who"), closed);
  EXPECT_EQ(watcher.call(R"({"op":"presence","id":8,"tag":"room.a"})").u64("/count"), 4u);

  // Nothing reached the subscriber that did not ask for events.
  for (const json_message& m : frames_before_pong(quiet, 9)) {
    EXPECT_NE(m.op(), "join") << m.text();
    EXPECT_NE(m.op(), "leave") << m.text();
  }
  // A tag nobody holds: zero, an empty list.
  const json_message none = quiet.call(R"({"op":"presence","id":10,"tag":"room.empty"})");
  EXPECT_EQ(none.u64("/count"), 0u);
  EXPECT_EQ(none.size("/who"), 0u);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_presence_members"), 4u);
  EXPECT_GE(metric_sum(server.port(), "wsagent_presence_events_total"), 7u);
  EXPECT_EQ(metric_sum(server.port(), "wsagent_presence_queries_total"), 3u);
}

// One shard, three watchers: the event's frame is made once and shared, and each watcher
// gets it whole (the frame's references are counted per queue).
TEST(Presence, EveryWatcherOfAShardGetsTheEvent) {
  server_process server({"--no-auth", "--shards", "1"});
  ASSERT_TRUE(server.start());
  std::vector<ws_client> watchers;
  for (int i = 0; i < 3; ++i) {
    watchers.push_back(ws_client::connect(server.port()));
    ASSERT_EQ(watchers.back().call(R"({"op":"sub","id":1,"tags":["room.b"],"presence":true})")
                  .op(),
              "ok");
  }
  // The watchers' own joins: the first saw two, the second one.
  EXPECT_EQ(who_at(watchers[0].wait_for("join"), "/who"), conn_of(watchers[1]));
  EXPECT_EQ(who_at(watchers[0].wait_for("join"), "/who"), conn_of(watchers[2]));
  EXPECT_EQ(who_at(watchers[1].wait_for("join"), "/who"), conn_of(watchers[2]));
  const uint64_t before = metric_sum(server.port(), "wsagent_presence_events_total");
  EXPECT_EQ(before, 3u);

  ws_client member = ws_client::connect(server.port());
  ASSERT_EQ(member.call(R"({"op":"sub","id":2,"tags":["room.b"]})").op(), "ok");
  for (ws_client& w : watchers) {
    const json_message join = w.wait_for("join");
    EXPECT_EQ(join.str("/tag"), "room.b");
    EXPECT_EQ(who_at(join, "/who"), conn_of(member));
  }
  const std::string gone = conn_of(member);
  member.send_close();
  ASSERT_TRUE(member.wait_eof());
  for (ws_client& w : watchers) {
    EXPECT_EQ(who_at(w.wait_for("leave"), "/who"), gone);
  }
  EXPECT_EQ(metric_sum(server.port(), "wsagent_presence_events_total"), before + 6u);
}

TEST(Presence, RequestsAreCheckedAndTheListIsBounded) {
  server_process server({"--no-auth", "--shards", "2", "--presence-max-members", "2"});
  ASSERT_TRUE(server.start());
  std::vector<ws_client> members;
  for (int i = 0; i < 5; ++i) {
    members.push_back(ws_client::connect(server.port()));
    ASSERT_EQ(members.back().call(R"({"op":"sub","id":1,"tags":["big.room"]})").op(), "ok");
  }
  ws_client c = ws_client::connect(server.port());
  const json_message ok = c.call(R"({"op":"presence","id":1,"tag":"big.room"})");
  EXPECT_EQ(ok.u64("/count"), 5u) << "the count stays exact";
  EXPECT_EQ(ok.size("/who"), 2u) << ok.text();
  EXPECT_EQ(metric_sum(server.port(), "wsagent_presence_truncated_total"), 1u);

  EXPECT_EQ(c.call(R"({"op":"presence","id":2,"tag":"big.*"})").str("/code"), "bad_tag");
  EXPECT_EQ(c.call(R"({"op":"presence","id":3,"tag":"bad..tag"})").str("/code"), "bad_tag");
  EXPECT_EQ(c.call(R"({"op":"presence","id":4})").str("/code"), "bad_request");
  EXPECT_EQ(c.call(R"({"op":"sub","id":5,"tags":["x"],"presence":1})").str("/code"),
            "bad_request");
  // Every member left with its connection.
  members.clear();
  for (int i = 0; i < 100 && metric_sum(server.port(), "wsagent_presence_members") != 0; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(metric_sum(server.port(), "wsagent_presence_members"), 0u);
  EXPECT_EQ(c.call(R"({"op":"presence","id":6,"tag":"big.room"})").u64("/count"), 0u);
}

TEST(Presence, WhoCarriesTheTokensSubjectAndInfoAndNeedsSubscribePermission) {
  scratch_dir dir;
  ASSERT_TRUE(dir.ok());
  const std::string secret_file = dir.write("secret", secret + "\n");
  server_process server({"--hmac-secret-file", secret_file, "--shards", "2"});
  ASSERT_TRUE(server.start());
  const auto token = [](std::string_view sub, std::string_view extra) {
    return hs256(claims_json(unix_now() + 3600, R"({"pub":[],"sub":["chat.*"]})", extra, sub),
                 secret);
  };
  ws_options alice_opts;
  alice_opts.query = "token=" + token("alice", R"(,"info":{"name":"Alice","color": "red"})");
  ws_client alice = ws_client::connect(server.port(), alice_opts);
  ws_options bob_opts;
  bob_opts.query = "token=" + token("bob", "");
  ws_client bob = ws_client::connect(server.port(), bob_opts);
  ASSERT_EQ(bob.call(R"({"op":"sub","id":1,"tags":["chat.lobby"],"presence":true})").op(), "ok");
  ASSERT_EQ(alice.call(R"({"op":"sub","id":1,"tags":["chat.lobby"]})").op(), "ok");
  const json_message join = bob.wait_for("join");
  EXPECT_EQ(join.str("/who/sub"), "alice");
  EXPECT_EQ(who_at(join, "/who"), conn_of(alice));
  EXPECT_EQ(join.str("/who/info/name"), "Alice");
  EXPECT_EQ(join.str("/who/info/color"), "red");

  const json_message ok = alice.call(R"({"op":"presence","id":2,"tag":"chat.lobby"})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  EXPECT_EQ(ok.u64("/count"), 2u);
  std::set<std::string> subs;
  for (std::size_t i = 0; i < ok.size("/who"); ++i) {
    subs.insert(ok.str("/who/" + std::to_string(i) + "/sub"));
  }
  EXPECT_EQ(subs, (std::set<std::string>{"alice", "bob"}));
  const json_message forbidden = alice.call(R"({"op":"presence","id":3,"tag":"news.x"})");
  EXPECT_EQ(forbidden.str("/code"), "forbidden") << forbidden.text();

  // An info over 1 KiB, or not an object, refuses the token.
  for (const std::string& extra : {R"(,"info":{"pad":")" + std::string(1100, 'x') + "\"}",
                                   std::string(R"(,"info":"text")")}) {
    ws_options big;
    big.query = "token=" + token("carol", extra);
    big.read_hello = false;
    EXPECT_THROW(ws_client::connect(server.port(), big), std::exception) << extra;
  }
}

TEST(Presence, TheListFitsTheAskersOutboundLimit) {
  // Members with 1 KiB of info each, an outbound limit of 64 KiB: the answer lists what
  // fits in half of it, the count stays exact, and the asker is not a slow consumer.
  scratch_dir dir;
  ASSERT_TRUE(dir.ok());
  const std::string secret_file = dir.write("secret", secret + "\n");
  server_process server({"--hmac-secret-file", secret_file, "--shards", "2",
                         "--max-outbound-bytes", "64KiB", "--max-message-bytes", "16KiB"});
  ASSERT_TRUE(server.start());
  const std::string info = R"(,"info":{"pad":")" + std::string(1000, 'x') + "\"}";
  std::vector<ws_client> members;
  for (int i = 0; i < 80; ++i) {
    ws_options o;
    o.query = "token=" + hs256(claims_json(unix_now() + 3600, R"({"pub":[],"sub":[">"]})", info,
                                           "m" + std::to_string(i)),
                               secret);
    members.push_back(ws_client::connect(server.port(), o));
    ASSERT_EQ(members.back().call(R"({"op":"sub","id":1,"tags":["wide.room"]})").op(), "ok");
  }
  ws_client& asker = members.front();
  const json_message ok = asker.call(R"({"op":"presence","id":2,"tag":"wide.room"})");
  ASSERT_EQ(ok.op(), "ok") << ok.text().substr(0, 200);
  EXPECT_EQ(ok.u64("/count"), 80u);
  EXPECT_GE(ok.size("/who"), 20u);
  EXPECT_LE(ok.size("/who"), 32u) << "at most 32 KiB of who";
  EXPECT_EQ(ok.str("/who/0/info/pad"), std::string(1000, 'x'));
  EXPECT_EQ(asker.call(R"({"op":"ping","id":3})").op(), "ok");
}

// ---- two nodes on one Redis ----

class PresenceRedis : public two_redis_nodes {
 protected:
  PresenceRedis() : two_redis_nodes("presence-secret") {}
};

TEST_F(PresenceRedis, EveryNodeGivesTheSameAnswerAndEventsCrossNodes) {
  start_nodes();
  ws_client watcher = ws_client::connect(a_->port());
  ws_client member = ws_client::connect(b_->port());
  ws_client local = ws_client::connect(a_->port());
  ASSERT_EQ(watcher.call(R"({"op":"sub","id":1,"tags":["room.r"],"presence":true})").op(), "ok");
  ASSERT_EQ(member.call(R"({"op":"sub","id":1,"tags":["room.r"]})").op(), "ok");
  EXPECT_EQ(who_at(watcher.wait_for("join", 10s), "/who"), conn_of(member));
  ASSERT_EQ(local.call(R"({"op":"sub","id":1,"tags":["room.r"]})").op(), "ok");
  EXPECT_EQ(who_at(watcher.wait_for("join", 10s), "/who"), conn_of(local));

  const json_message on_a = local.call(R"({"op":"presence","id":2,"tag":"room.r"})");
  const json_message on_b = member.call(R"({"op":"presence","id":2,"tag":"room.r"})");
  ASSERT_EQ(on_a.op(), "ok") << on_a.text();
  ASSERT_EQ(on_b.op(), "ok") << on_b.text();
  EXPECT_EQ(on_a.u64("/count"), 3u);
  EXPECT_EQ(on_b.u64("/count"), 3u);
  EXPECT_EQ(conns_of(on_a), conns_of(on_b));
  EXPECT_EQ(conns_of(on_a),
            (std::set<std::string>{conn_of(watcher), conn_of(member), conn_of(local)}));

  ASSERT_EQ(member.call(R"({"op":"unsub","id":3,"tags":["room.r"]})").op(), "ok");
  EXPECT_EQ(who_at(watcher.wait_for("leave", 10s), "/who"), conn_of(member));
  EXPECT_EQ(member.call(R"({"op":"presence","id":4,"tag":"room.r"})").u64("/count"), 2u);
  EXPECT_EQ(metric_sum(a_->port(), "wsagent_presence_members"), 2u);
  EXPECT_EQ(metric_sum(b_->port(), "wsagent_presence_members"), 0u);
}

TEST_F(PresenceRedis, AKilledNodesConnectionsLeaveWithinTheTtl) {
  start_nodes({"--presence-ttl", "1500"});
  ws_client watcher = ws_client::connect(a_->port());
  ASSERT_EQ(watcher.call(R"({"op":"sub","id":1,"tags":["room.k"],"presence":true})").op(), "ok");
  std::vector<ws_client> doomed;
  std::set<std::string> doomed_conns;
  for (int i = 0; i < 3; ++i) {
    doomed.push_back(ws_client::connect(b_->port()));
    doomed_conns.insert(conn_of(doomed.back()));
    ASSERT_EQ(doomed.back().call(R"({"op":"sub","id":1,"tags":["room.k"]})").op(), "ok");
    EXPECT_EQ(watcher.wait_for("join", 10s).str("/tag"), "room.k");
  }
  EXPECT_EQ(watcher.call(R"({"op":"presence","id":2,"tag":"room.k"})").u64("/count"), 4u);
  // Refreshes keep the living: after several TTLs, everyone is still there.
  std::this_thread::sleep_for(3500ms);
  EXPECT_EQ(watcher.call(R"({"op":"presence","id":3,"tag":"room.k"})").u64("/count"), 4u);

  b_->signal(SIGKILL);
  ASSERT_GE(b_->wait_exit(10s), 0);
  std::set<std::string> left;
  while (left.size() < 3) {
    const json_message leave = watcher.wait_for("leave", 10s);
    EXPECT_EQ(leave.str("/tag"), "room.k");
    left.insert(who_at(leave, "/who"));
  }
  EXPECT_EQ(left, doomed_conns);
  const json_message after = watcher.call(R"({"op":"presence","id":4,"tag":"room.k"})");
  EXPECT_EQ(after.u64("/count"), 1u) << after.text();
  EXPECT_EQ(conns_of(after), std::set<std::string>{conn_of(watcher)});
}

// A leave that happens while Redis is away cannot be written; the node's full resync on
// link-up takes it out. Redis keeps its data over the restart (append-only file), so the
// member that left would otherwise stay for as long as its node refreshes the tag.
TEST(PresenceRedisRestart, LeavesLostWhileRedisWasDownAreMadeGoodOnLinkUp) {
  redis_process redis({.appendonly = true});
  ASSERT_TRUE(redis.start());
  server_process a(redis_node_args(redis, "node-a"));
  server_process b(redis_node_args(redis, "node-b"));
  ASSERT_TRUE(start_redis_node(a));
  ASSERT_TRUE(start_redis_node(b));
  ws_client stays = ws_client::connect(a.port());
  ws_client goes = ws_client::connect(a.port());
  ws_client asker = ws_client::connect(b.port());
  ASSERT_EQ(stays.call(R"({"op":"sub","id":1,"tags":["room.z"]})").op(), "ok");
  ASSERT_EQ(goes.call(R"({"op":"sub","id":1,"tags":["room.z"]})").op(), "ok");
  EXPECT_EQ(asker.call(R"({"op":"presence","id":1,"tag":"room.z"})").u64("/count"), 2u);

  redis.kill();
  ASSERT_EQ(goes.call(R"({"op":"unsub","id":2,"tags":["room.z"]})").op(), "ok");
  ASSERT_TRUE(redis.start());
  // Both nodes come back by themselves; until node-a's resync, `goes` is still listed.
  const auto deadline = std::chrono::steady_clock::now() + 8s;
  json_message last = asker.call(R"({"op":"presence","id":3,"tag":"room.z"})");
  for (uint64_t id = 4; std::chrono::steady_clock::now() < deadline; ++id) {
    if (last.op() == "ok" && last.u64("/count") == 1) {
      break;
    }
    std::this_thread::sleep_for(50ms);
    last = asker.call(R"({"op":"presence","id":)" + std::to_string(id) +
                      R"(,"tag":"room.z"})");
  }
  ASSERT_EQ(last.op(), "ok") << last.text();
  EXPECT_EQ(last.u64("/count"), 1u) << last.text();
  EXPECT_EQ(conns_of(last), std::set<std::string>{conn_of(stays)});
}

}  // namespace
}  // namespace wsa::test
