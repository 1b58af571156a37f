// Protocol 1.1 recovery on patterns (docs/protocol.md "Recovery on patterns") against the
// real binary: one node with two shards (embedded broker), and two nodes sharing a real
// Redis (subscriber on one, publisher on the other). Tags created while the client was
// away, tags whose history was evicted (gaps), known and unknown tags mixed, the bound
// --max-recovery-tags, malformed forms, and a publisher running throughout (no gap, no
// duplicate, order per tag).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/redis_nodes.h"
#include "support/metrics_reader.h"

namespace wsa::test {
namespace {

// What a client knows of one pattern: per tag the seqs received (in order) and the epoch
// the server named, the newest ts seen, the tags reported in gaps.
struct pattern_view {
  std::map<std::string, std::vector<uint64_t>> got;
  std::map<std::string, std::string> epoch;
  int64_t ts = -1;
  std::set<std::string> gaps;

  uint64_t last(const std::string& tag) const {
    auto it = got.find(tag);
    return it == got.end() || it->second.empty() ? 0 : it->second.back();
  }
  // A msg: in seq order per tag, never twice (restarts are not expected here).
  void take(const json_message& m) {
    ASSERT_EQ(m.op(), "msg") << m.text();
    const std::string tag = m.str("/tag");
    const uint64_t seq = m.u64("/seq");
    ASSERT_GT(seq, last(tag)) << "duplicate or out of order: " << m.text();
    got[tag].push_back(seq);
    ts = std::max(ts, m.i64("/ts"));
  }
  // The `ok` of a recovering sub: positions and gaps.
  void answer(const json_message& ok) {
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    for (auto [tag, value] : ok.at("/epoch").get_object()) {
      epoch[std::string(tag)] = std::string(value.get_string().value());
    }
    if (ok.has("/gaps")) {
      for (std::size_t i = 0; i < ok.size("/gaps"); ++i) {
        gaps.insert(ok.str("/gaps/" + std::to_string(i)));
      }
    }
  }
  // `sub` of `pattern` with the pattern form of since: ts and every known position.
  std::string sub(std::string_view pattern, uint64_t id, bool with_ts = true) const {
    std::string since = "{";
    if (with_ts && ts >= 0) {
      since += R"("ts":)" + std::to_string(ts) + ",";
    }
    since += R"("tags":{)";
    bool first = true;
    for (const auto& [tag, seqs] : got) {
      if (seqs.empty()) {
        continue;
      }
      since += (first ? "" : ",") + json_quote(tag) + ":";
      first = false;
      auto e = epoch.find(tag);
      since += e == epoch.end() ? std::to_string(seqs.back())
                                : R"({"seq":)" + std::to_string(seqs.back()) +
                                      R"(,"epoch":)" + json_quote(e->second) + "}";
    }
    since += "}}";
    return R"({"op":"sub","id":)" + std::to_string(id) + R"(,"tags":[)" + json_quote(pattern) +
           R"(],"since":{)" + json_quote(pattern) + ":" + since + "}}";
  }
};

// Reads `c` until every tag of `want` reached its seq (anything but msg fails).
void read_to(ws_client& c, pattern_view& v, const std::map<std::string, uint64_t>& want) {
  const auto reached = [&] {
    for (const auto& [tag, seq] : want) {
      if (v.last(tag) < seq) {
        return false;
      }
    }
    return true;
  };
  while (!reached()) {
    const json_message m = c.next_json(std::chrono::seconds(10));
    v.take(m);
    if (testing::Test::HasFatalFailure()) {
      return;
    }
  }
}

// Nothing else is on its way: one more message per tag comes right after what was read.
void expect_nothing_more(ws_client& c, ws_client& publisher, pattern_view& v,
                         const std::map<std::string, uint64_t>& want) {
  std::map<std::string, uint64_t> next;
  uint64_t id = 90000;
  for (const auto& [tag, seq] : want) {
    ASSERT_EQ(publish_ok(publisher, tag, ++id, R"("probe")"), seq + 1);
    next[tag] = seq + 1;
  }
  read_to(c, v, next);
  for (const auto& [tag, seq] : next) {
    EXPECT_EQ(v.last(tag), seq) << tag;
  }
}

// 1, 2, ..., n.
std::vector<uint64_t> upto(uint64_t n) {
  std::vector<uint64_t> out;
  for (uint64_t i = 1; i <= n; ++i) {
    out.push_back(i);
  }
  return out;
}

// The nodes under test: where the subscriber connects and where the publisher does.
struct nodes {
  uint16_t sub_port;
  uint16_t pub_port;
};

// ---- the scenarios, run on both brokers ----

void tags_created_while_away(const nodes& n) {
  ws_client publisher = ws_client::connect(n.pub_port);
  pattern_view v;
  {
    ws_client c = ws_client::connect(n.sub_port);
    ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["room.>"]})").op(), "ok");
    for (int i = 1; i <= 3; ++i) {
      publish_ok(publisher, "room.a", i, std::to_string(i));
    }
    publish_ok(publisher, "room.b.x", 4, "4");
    read_to(c, v, {{"room.a", 3}, {"room.b.x", 1}});
  }  // the client goes away
  for (int i = 4; i <= 5; ++i) {
    publish_ok(publisher, "room.a", 10 + i, std::to_string(i));
  }
  publish_ok(publisher, "room.c", 20, "1");  // a tag created while away
  publish_ok(publisher, "room.c", 21, "2");
  publish_ok(publisher, "other.a", 22, "1");  // not matched
  ws_client c = ws_client::connect(n.sub_port);
  const json_message ok = c.call(v.sub("room.>", 2));
  v.answer(ok);
  EXPECT_EQ(ok.u64("/seq/room.a"), 5u) << ok.text();
  EXPECT_EQ(ok.u64("/seq/room.c"), 2u) << ok.text();
  EXPECT_FALSE(ok.has("/seq/room.b.x")) << "nothing new: " << ok.text();
  EXPECT_FALSE(ok.has("/gaps")) << ok.text();
  read_to(c, v, {{"room.a", 5}, {"room.c", 2}});
  EXPECT_EQ(v.got["room.a"], upto(5));
  EXPECT_EQ(v.got["room.c"], upto(2));
  expect_nothing_more(c, publisher, v, {{"room.a", 5}, {"room.b.x", 1}, {"room.c", 2}});
  EXPECT_EQ(v.got.count("other.a"), 0u);
}

void known_and_unknown_mixed(const nodes& n) {
  ws_client publisher = ws_client::connect(n.pub_port);
  // Published before the client ever saw anything: not wanted by ts, but by position.
  for (int i = 1; i <= 4; ++i) {
    publish_ok(publisher, "mix.known", i, std::to_string(i));
  }
  publish_ok(publisher, "mix.old", 5, "1");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  pattern_view v;
  v.got["mix.known"] = {1, 2};  // the client had seen up to seq 2
  {
    ws_client c = ws_client::connect(n.sub_port);
    ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["mix.fresh"]})").op(), "ok");
    publish_ok(publisher, "mix.fresh", 6, "1");
    v.take(c.wait_for("msg"));  // its ts is the newest the client saw
  }
  publish_ok(publisher, "mix.fresh", 7, "2");
  publish_ok(publisher, "mix.new", 8, "1");
  ws_client c = ws_client::connect(n.sub_port);
  const json_message ok = c.call(v.sub("mix.*", 2));
  v.answer(ok);
  EXPECT_FALSE(ok.has("/gaps")) << ok.text();
  EXPECT_FALSE(ok.has("/seq/mix.old")) << "published before ts and not known: " << ok.text();
  read_to(c, v, {{"mix.known", 4}, {"mix.fresh", 2}, {"mix.new", 1}});
  EXPECT_EQ(v.got["mix.known"], upto(4));
  EXPECT_EQ(v.got["mix.fresh"], upto(2));
  EXPECT_EQ(v.got.count("mix.old"), 0u);
  expect_nothing_more(c, publisher, v, {{"mix.known", 4}, {"mix.fresh", 2}, {"mix.new", 1}});
  EXPECT_EQ(v.got.count("mix.old"), 0u);
  // Without ts, every retained message of a tag not named: mix.old too.
  ws_client again = ws_client::connect(n.sub_port);
  const json_message all = again.call(R"({"op":"sub","id":3,"tags":["mix.*"],)"
                                      R"("since":{"mix.*":{"tags":{}}}})");
  EXPECT_EQ(all.u64("/seq/mix.old"), 1u) << all.text();
  EXPECT_EQ(all.u64("/seq/mix.known"), 5u) << all.text();
}

void evicted_history_is_a_gap(const nodes& n) {
  // --history-size 3 on these nodes.
  ws_client publisher = ws_client::connect(n.pub_port);
  pattern_view v;
  {
    ws_client c = ws_client::connect(n.sub_port);
    ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["ev.>"]})").op(), "ok");
    publish_ok(publisher, "ev.a", 1, "1");
    publish_ok(publisher, "ev.b", 2, "1");
    read_to(c, v, {{"ev.a", 1}, {"ev.b", 1}});
  }
  for (int i = 2; i <= 6; ++i) {
    publish_ok(publisher, "ev.a", 10 + i, std::to_string(i));  // 2 and 3 are evicted
  }
  for (int i = 1; i <= 5; ++i) {
    publish_ok(publisher, "ev.new", 20 + i, std::to_string(i));  // 1 and 2 are evicted
  }
  publish_ok(publisher, "ev.b", 30, "2");  // all retained
  ws_client c = ws_client::connect(n.sub_port);
  const json_message ok = c.call(v.sub("ev.>", 2));
  v.answer(ok);
  EXPECT_EQ(v.gaps, (std::set<std::string>{"ev.a", "ev.new"})) << ok.text();
  EXPECT_EQ(ok.u64("/seq/ev.a"), 6u);
  EXPECT_EQ(ok.u64("/seq/ev.new"), 5u);
  EXPECT_EQ(ok.u64("/seq/ev.b"), 2u);
  read_to(c, v, {{"ev.a", 6}, {"ev.new", 5}, {"ev.b", 2}});
  EXPECT_EQ(v.got["ev.a"], (std::vector<uint64_t>{1, 4, 5, 6}));
  EXPECT_EQ(v.got["ev.new"], (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(v.got["ev.b"], upto(2));
  // A known position of another life (epoch) replays what is retained, as a gap.
  ws_client other = ws_client::connect(n.sub_port);
  const json_message restart = other.call(R"({"op":"sub","id":3,"tags":["ev.>"],"since":)"
                                          R"({"ev.>":{"ts":)" + std::to_string(v.ts) +
                                          R"(,"tags":{"ev.b":{"seq":2,"epoch":"zz"}}}}})");
  pattern_view w;
  w.answer(restart);
  EXPECT_TRUE(w.gaps.count("ev.b")) << restart.text();
  read_to(other, w, {{"ev.b", 2}});
  EXPECT_EQ(w.got["ev.b"], upto(2));  // everything retained of it, from its seq 1
}

void bounded_by_max_recovery_tags(const nodes& n, uint16_t metrics_port) {
  // --max-recovery-tags 3 on these nodes.
  ws_client publisher = ws_client::connect(n.pub_port);
  for (int i = 0; i < 5; ++i) {
    publish_ok(publisher, "many.t" + std::to_string(i), i + 1, "1");
  }
  ws_client c = ws_client::connect(n.sub_port);
  const json_message ok = c.call(R"({"op":"sub","id":1,"tags":["many.*"],)"
                                 R"("since":{"many.*":{"ts":0}}})");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  ASSERT_TRUE(ok.has("/gaps")) << ok.text();
  std::set<std::string> gaps;
  for (std::size_t i = 0; i < ok.size("/gaps"); ++i) {
    gaps.insert(ok.str("/gaps/" + std::to_string(i)));
  }
  EXPECT_TRUE(gaps.count("many.*")) << ok.text();
  EXPECT_LE(ok.at("/seq").get_object().size(), 3u) << ok.text();
  EXPECT_FALSE(ok.has("/seq/many.*")) << ok.text();
  EXPECT_GE(metric_sum(metrics_port, "wsagent_pattern_recoveries_over_bound_total"), 1u);
  // Still subscribed: live messages flow.
  publish_ok(publisher, "many.t0", 9, "2");
  for (;;) {
    const json_message m = c.next_json(std::chrono::seconds(10));
    ASSERT_EQ(m.op(), "msg") << m.text();
    if (m.str("/tag") == "many.t0" && m.u64("/seq") == 2) {
      break;
    }
  }
  // More known positions than the bound: refused as a whole.
  const json_message refused = c.call(R"({"op":"sub","id":2,"tags":["many.*"],"since":)"
                                      R"({"many.*":{"tags":{"many.a":1,"many.b":1,"many.c":1,)"
                                      R"("many.d":1}}}})");
  EXPECT_EQ(refused.op(), "err") << refused.text();
  EXPECT_EQ(refused.str("/code"), "bad_request");
}

// Tags last published just before ts are no candidates, and so do not count against
// --max-recovery-tags (1 on these nodes). On Redis their registry scores are at or after ts
// (a score is refreshed at most once a second, to a bound of the publishes until the next
// refresh): the candidates script checks such a tag's last publish time.
void published_just_before_ts(const nodes& n) {
  ws_client publisher = ws_client::connect(n.pub_port);
  for (int i = 0; i < 3; ++i) {
    publish_ok(publisher, "near.old" + std::to_string(i), i + 1, "1");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  pattern_view v;
  {
    ws_client c = ws_client::connect(n.sub_port);
    ASSERT_EQ(c.call(R"({"op":"sub","id":1,"tags":["near.fresh"]})").op(), "ok");
    publish_ok(publisher, "near.fresh", 10, "1");
    v.take(c.wait_for("msg"));  // its ts is the newest the client saw
  }
  publish_ok(publisher, "near.fresh", 11, "2");
  ws_client c = ws_client::connect(n.sub_port);
  const json_message ok = c.call(v.sub("near.*", 2));
  v.answer(ok);
  EXPECT_FALSE(ok.has("/gaps")) << ok.text();
  EXPECT_EQ(ok.u64("/seq/near.fresh"), 2u) << ok.text();
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(ok.has("/seq/near.old" + std::to_string(i))) << ok.text();
  }
  read_to(c, v, {{"near.fresh", 2}});
  EXPECT_EQ(v.got["near.fresh"], upto(2));
}

// A publisher on four tags runs throughout while the subscriber leaves and comes back with
// the pattern form of since, again and again: per tag it gets every seq once, in order.
void publisher_throughout(const nodes& n) {
  const std::vector<std::string> tags = {"run.a", "run.b", "run.c.d", "run.e"};
  std::atomic<bool> stop{false};
  std::map<std::string, uint64_t> published;
  pattern_view v;
  auto c = std::make_unique<ws_client>(ws_client::connect(n.sub_port));
  v.answer(c->call(R"({"op":"sub","id":1,"tags":["run.>"]})"));  // before the first publish
  std::thread writer([&] {
    ws_client p = ws_client::connect(n.pub_port);
    uint64_t id = 0;
    while (!stop.load()) {
      for (const std::string& tag : tags) {
        ++id;
        const uint64_t seq = publish_ok(p, tag, id, std::to_string(id));
        if (seq == 0) {
          return;
        }
        published[tag] = seq;
      }
      // At most ~1000 a second per tag: what the client misses while away stays within
      // --history-size (256), so a gap here would be the server's fault.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  for (int round = 0; round < 6 && !testing::Test::HasFailure(); ++round) {
    if (round > 0) {
      c = std::make_unique<ws_client>(ws_client::connect(n.sub_port));
      const json_message ok = c->call(v.sub("run.>", 1));
      v.answer(ok);
      EXPECT_TRUE(v.gaps.empty()) << ok.text();
    }
    // Read for a while, then leave with messages still on their way.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
    while (std::chrono::steady_clock::now() < until && !testing::Test::HasFailure()) {
      if (c->kept() > 0) {
        v.take(c->next_json());
      } else if (auto m = c->try_next_message(std::chrono::milliseconds(20))) {
        v.take(json_message(m->payload));
      }
    }
    c.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // away
  }
  stop = true;
  writer.join();
  ASSERT_FALSE(testing::Test::HasFailure());
  ws_client last = ws_client::connect(n.sub_port);
  v.answer(last.call(v.sub("run.>", 2)));
  EXPECT_TRUE(v.gaps.empty());
  read_to(last, v, published);
  for (const std::string& tag : tags) {
    EXPECT_EQ(v.got[tag], upto(published[tag])) << tag;
  }
}

// The replay budget (the subscriber's --max-outbound-bytes, 8 KiB on these nodes) is split
// evenly over the tags considered, on both brokers and whatever the order of the tags: the
// big tag published first does not take the others' share. 8192 / 3 tags = 2730 bytes each;
// a message counts its tag, data and an 80-byte envelope (1088 for the big ones): two big
// ones fit per tag, the rest of those tags is a gap; the small tag comes whole.
void budget_split_evenly(const nodes& n) {
  ws_client publisher = ws_client::connect(n.pub_port);
  const std::string big = json_quote(std::string(1000, 'x'));
  uint64_t id = 0;
  for (int i = 0; i < 6; ++i) {
    publish_ok(publisher, "bb.big", ++id, big);
  }
  for (int i = 0; i < 3; ++i) {
    publish_ok(publisher, "bb.mid", ++id, big);
  }
  for (int i = 0; i < 2; ++i) {
    publish_ok(publisher, "bb.small", ++id, "1");
  }
  ws_client c = ws_client::connect(n.sub_port);
  pattern_view v;
  const json_message ok =
      c.call(R"({"op":"sub","id":1,"tags":["bb.>"],"since":{"bb.>":{"ts":0}}})");
  v.answer(ok);
  EXPECT_EQ(ok.u64("/seq/bb.big"), 6u) << ok.text();
  EXPECT_EQ(v.gaps, (std::set<std::string>{"bb.big", "bb.mid"})) << ok.text();
  // One probe each after the replay: what arrives before it is the whole replay.
  EXPECT_EQ(publish_ok(publisher, "bb.big", ++id, "7"), 7u);
  EXPECT_EQ(publish_ok(publisher, "bb.mid", ++id, "4"), 4u);
  EXPECT_EQ(publish_ok(publisher, "bb.small", ++id, "3"), 3u);
  read_to(c, v, {{"bb.big", 7}, {"bb.mid", 4}, {"bb.small", 3}});
  EXPECT_EQ(v.got["bb.big"], (std::vector<uint64_t>{1, 2, 7}));
  EXPECT_EQ(v.got["bb.mid"], (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_EQ(v.got["bb.small"], upto(3));
}

// ---- one node, embedded broker ----

class PatternRecoveryEmbedded : public testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--no-auth", "--shards", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<server_process>(args);
    ASSERT_TRUE(server_->start());
  }
  nodes both() const { return {server_->port(), server_->port()}; }
  std::unique_ptr<server_process> server_;
};

TEST_F(PatternRecoveryEmbedded, TagsCreatedWhileAway) {
  start();
  tags_created_while_away(both());
  EXPECT_EQ(metric_sum(server_->port(), "wsagent_pattern_recoveries_total"), 1u);
  EXPECT_EQ(metric_sum(server_->port(), "wsagent_pattern_recovery_tags_total"), 2u);
}

TEST_F(PatternRecoveryEmbedded, KnownAndUnknownTagsMixed) {
  start();
  known_and_unknown_mixed(both());
}

TEST_F(PatternRecoveryEmbedded, EvictedHistoryIsAGap) {
  start({"--history-size", "3"});
  evicted_history_is_a_gap(both());
}

TEST_F(PatternRecoveryEmbedded, BoundedByMaxRecoveryTags) {
  start({"--max-recovery-tags", "3"});
  bounded_by_max_recovery_tags(both(), server_->port());
}

TEST_F(PatternRecoveryEmbedded, PublishedJustBeforeTsIsNoCandidate) {
  start({"--max-recovery-tags", "1"});
  published_just_before_ts(both());
}

TEST_F(PatternRecoveryEmbedded, PublisherThroughout) {
  start();
  publisher_throughout(both());
}

TEST_F(PatternRecoveryEmbedded, BudgetSplitEvenlyOverTheTags) {
  start({"--max-message-bytes", "4KiB", "--max-outbound-bytes", "8KiB"});
  budget_split_evenly(both());
}

TEST_F(PatternRecoveryEmbedded, MalformedFormsAreRefused) {
  start();
  ws_client c = ws_client::connect(server_->port());
  const char* bad[] = {
      // the pattern form for an exact tag
      R"({"op":"sub","id":1,"tags":["a.b"],"since":{"a.b":{"ts":1}}})",
      // known tags the pattern does not match, or patterns
      R"({"op":"sub","id":1,"tags":["a.*"],"since":{"a.*":{"tags":{"b.c":1}}}})",
      R"({"op":"sub","id":1,"tags":["a.*"],"since":{"a.*":{"tags":{"a.*":1}}}})",
      // malformed values
      R"({"op":"sub","id":1,"tags":["a.*"],"since":{"a.*":{"ts":-5}}})",
      R"({"op":"sub","id":1,"tags":["a.*"],"since":{"a.*":{"ts":1,"seq":2}}})",
      R"({"op":"sub","id":1,"tags":["a.*"],"since":{"a.*":{"tags":{"a.b":"x"}}}})",
  };
  for (const char* frame : bad) {
    const json_message err = c.call(frame);
    EXPECT_EQ(err.op(), "err") << frame;
    EXPECT_EQ(err.str("/code"), "bad_request") << frame;
  }
  // Nothing was subscribed; the connection goes on.
  EXPECT_EQ(c.call(R"({"op":"ping","id":2})").op(), "ok");
}

// ---- two nodes on one Redis ----

class PatternRecoveryRedis : public two_redis_nodes {
 protected:
  PatternRecoveryRedis() : two_redis_nodes("") {}
  nodes across() const { return {a_->port(), b_->port()}; }
};

TEST_F(PatternRecoveryRedis, TagsCreatedWhileAway) {
  start_nodes();
  tags_created_while_away(across());
}

TEST_F(PatternRecoveryRedis, KnownAndUnknownTagsMixed) {
  start_nodes();
  known_and_unknown_mixed(across());
}

TEST_F(PatternRecoveryRedis, EvictedHistoryIsAGap) {
  start_nodes({"--history-size", "3"});
  evicted_history_is_a_gap(across());
}

TEST_F(PatternRecoveryRedis, BoundedByMaxRecoveryTags) {
  start_nodes({"--max-recovery-tags", "3"});
  bounded_by_max_recovery_tags(across(), a_->port());
}

TEST_F(PatternRecoveryRedis, PublishedJustBeforeTsIsNoCandidate) {
  start_nodes({"--max-recovery-tags", "1"});
  published_just_before_ts(across());
}

TEST_F(PatternRecoveryRedis, PublisherThroughout) {
  start_nodes();
  publisher_throughout(across());
}

TEST_F(PatternRecoveryRedis, BudgetSplitEvenlyOverTheTags) {
  start_nodes({"--max-message-bytes", "4KiB", "--max-outbound-bytes", "8KiB"});
  budget_split_evenly(across());
}

}  // namespace
}  // namespace wsa::test
