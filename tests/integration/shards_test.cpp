// Several shards (--shards 2): a few hundred connections spread over both shards by the
// kernel, publishers on both, tags owned by both. Every subscriber gets every message once,
// per tag in seq order with seq contiguous (docs/protocol.md "Tags": seq grows by exactly 1).
#include <gtest/gtest.h>

#include <charconv>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/server_process.h"
#include "support/ws_client.h"

namespace wsa::test {
namespace {

constexpr int subscriber_count = 300;
constexpr int tag_count = 8;
constexpr int messages_per_publisher_and_tag = 10;

// wsagent's conn ids are "c-<hex>" with the shard in the bits above 40
// (src/server/shard.cpp); the test uses it only to choose publishers on each shard.
unsigned shard_of(const ws_client& c) {
  const std::string conn = c.hello().str("/conn");
  uint64_t id = 0;
  std::from_chars(conn.data() + 2, conn.data() + conn.size(), id, 16);
  return static_cast<unsigned>(id >> 40);
}

uint64_t shard_value(const std::string& metrics, const std::string& name, int shard) {
  const std::string key = name + "{shard=\"" + std::to_string(shard) + "\"} ";
  const std::size_t at = metrics.find(key);
  return at == std::string::npos ? 0 : std::stoull(metrics.substr(at + key.size()));
}

std::string tag_name(int t) { return "room." + std::to_string(t); }

void expect_no_more(ws_client& c) {
  const json_message reply = c.call(R"({"op":"ping","id":"end"})");
  EXPECT_EQ(reply.op(), "ok");
  EXPECT_EQ(c.kept(), 0u) << "extra message: " << c.next_json().text();
}

TEST(Shards, EverySubscriberGetsEveryMessageOnceInOrder) {
  server_process server({"--no-auth", "--shards", "2"});
  ASSERT_TRUE(server.start());
  ASSERT_EQ(server.shards(), 2u);

  // Subscribers: even ones name every tag, odd ones use a pattern (matched on each shard).
  std::string exact_tags;
  for (int t = 0; t < tag_count; ++t) {
    exact_tags += (t ? ",\"" : "\"") + tag_name(t) + "\"";
  }
  std::vector<ws_client> subscribers;
  subscribers.reserve(subscriber_count);
  for (int i = 0; i < subscriber_count; ++i) {
    subscribers.push_back(ws_client::connect(server.port()));
    const std::string tags = i % 2 == 0 ? exact_tags : "\"room.*\"";
    const json_message ok =
        subscribers.back().call(R"({"op":"sub","id":1,"tags":[)" + tags + "]}");
    ASSERT_EQ(ok.op(), "ok") << ok.text();
  }

  // Two publishers on each shard.
  std::vector<ws_client> publishers;
  std::vector<int> per_shard(2, 0);
  for (int attempt = 0; attempt < 200 && publishers.size() < 4; ++attempt) {
    ws_client c = ws_client::connect(server.port());
    const unsigned shard = shard_of(c);
    ASSERT_LT(shard, 2u) << c.hello().text();
    if (per_shard[shard] < 2) {
      ++per_shard[shard];
      publishers.push_back(std::move(c));
    }
  }
  ASSERT_EQ(publishers.size(), 4u) << "could not get two connections on each shard";

  const std::string metrics = http_get(server.port(), "/metrics").body;
  for (int shard = 0; shard < 2; ++shard) {
    EXPECT_GT(shard_value(metrics, "wsagent_websockets", shard), 0u) << metrics;
  }

  // Interleaved fire-and-forget publishing from all four, to every tag.
  for (int n = 0; n < messages_per_publisher_and_tag; ++n) {
    for (int t = 0; t < tag_count; ++t) {
      for (std::size_t p = 0; p < publishers.size(); ++p) {
        publishers[p].send_text(R"({"op":"pub","tag":")" + tag_name(t) + R"(","data":{"p":)" +
                                std::to_string(p) + ",\"n\":" + std::to_string(n) + "}}");
      }
    }
  }
  const int per_tag = messages_per_publisher_and_tag * static_cast<int>(publishers.size());
  const int total = per_tag * tag_count;

  // What the first subscriber saw, by tag and seq, is what everyone must see.
  std::map<std::string, std::map<uint64_t, std::string>> reference;
  for (int i = 0; i < subscriber_count; ++i) {
    SCOPED_TRACE("subscriber " + std::to_string(i));
    std::map<std::string, uint64_t> last_seq;
    std::map<std::string, std::map<std::string, int>> last_n;  // tag -> publisher -> n
    for (int k = 0; k < total; ++k) {
      const json_message m = subscribers[i].next_json();
      ASSERT_EQ(m.op(), "msg") << m.text();
      const std::string tag = m.str("/tag");
      const uint64_t seq = m.u64("/seq");
      ASSERT_EQ(seq, last_seq[tag] + 1) << "seq not contiguous on " << tag;
      last_seq[tag] = seq;
      const std::string p = std::to_string(m.i64("/data/p"));
      const int n = static_cast<int>(m.i64("/data/n"));
      auto [it, fresh] = last_n[tag].try_emplace(p, -1);
      EXPECT_EQ(n, it->second + 1) << "publisher " << p << " reordered on " << tag;
      it->second = n;
      auto [ref, first] = reference[tag].try_emplace(seq, std::string(m.raw("data")));
      EXPECT_EQ(ref->second, m.raw("data")) << "seq " << seq << " of " << tag
                                            << " differs between subscribers";
    }
    for (int t = 0; t < tag_count; ++t) {
      EXPECT_EQ(last_seq[tag_name(t)], static_cast<uint64_t>(per_tag));
    }
  }
  const std::string after = http_get(server.port(), "/metrics").body;
  for (int shard = 0; shard < 2; ++shard) {
    EXPECT_GT(shard_value(after, "wsagent_tags_owned", shard), 0u)
        << "all tags owned by one shard: cross-shard ordering not exercised";
  }
  // Nothing more for anyone (a duplicate would show here).
  for (ws_client& s : subscribers) {
    expect_no_more(s);
  }
}

TEST(Shards, RecoveryAcrossShardsReplaysFromTheOwner) {
  server_process server({"--no-auth", "--shards", "2"});
  ASSERT_TRUE(server.start());
  // Publish from one connection to tags owned by either shard, then recover them all from
  // connections on both shards.
  ws_client pub = ws_client::connect(server.port());
  for (int t = 0; t < tag_count; ++t) {
    for (int n = 1; n <= 3; ++n) {
      pub.send_text(R"({"op":"pub","tag":")" + tag_name(t) + R"(","data":)" +
                    std::to_string(n) + "}");
    }
  }
  ASSERT_EQ(pub.call(R"({"op":"ping","id":0})").op(), "ok");
  std::vector<int> seen(2, 0);
  for (int attempt = 0; attempt < 200 && (seen[0] == 0 || seen[1] == 0); ++attempt) {
    ws_client c = ws_client::connect(server.port());
    const unsigned shard = shard_of(c);
    if (seen[shard]++ > 0) {
      continue;
    }
    SCOPED_TRACE("recovering on shard " + std::to_string(shard));
    std::string since;
    std::string tags;
    for (int t = 0; t < tag_count; ++t) {
      tags += (t ? ",\"" : "\"") + tag_name(t) + "\"";
      since += (t ? ",\"" : "\"") + tag_name(t) + "\":1";
    }
    c.send_text(R"({"op":"sub","id":1,"tags":[)" + tags + R"(],"since":{)" + since + "}}");
    const json_message ok = c.next_json();
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    std::map<std::string, uint64_t> last;
    for (int k = 0; k < tag_count * 2; ++k) {
      const json_message m = c.next_json();
      ASSERT_EQ(m.op(), "msg") << m.text();
      EXPECT_EQ(m.u64("/seq"), last[m.str("/tag")] == 0 ? 2u : last[m.str("/tag")] + 1);
      last[m.str("/tag")] = m.u64("/seq");
    }
    for (int t = 0; t < tag_count; ++t) {
      EXPECT_EQ(ok.u64("/seq/" + tag_name(t)), 3u);
      EXPECT_EQ(last[tag_name(t)], 3u);
    }
  }
  EXPECT_GT(seen[0], 0);
  EXPECT_GT(seen[1], 0);
}

TEST(Shards, SubscribingWhilePublishingIsGaplessAndWithoutDuplicates) {
  // Subscribers join (with and without `since`) while publishers on both shards keep
  // publishing to tags owned by both shards: each must see its tags' seqs contiguous from
  // since+1 (or from the top its ok reported + 1) to the end, every one once.
  server_process server({"--no-auth", "--shards", "2", "--history-size", "100000"});
  ASSERT_TRUE(server.start());
  std::vector<ws_client> publishers;
  std::vector<int> per_shard(2, 0);
  for (int attempt = 0; attempt < 200 && publishers.size() < 2; ++attempt) {
    ws_client c = ws_client::connect(server.port());
    if (per_shard[shard_of(c)]++ == 0) {
      publishers.push_back(std::move(c));
    }
  }
  ASSERT_EQ(publishers.size(), 2u);

  constexpr int rounds = 40;
  constexpr int batch = 10;  // per publisher and tag, each round
  constexpr int tags = 4;
  struct joined {
    ws_client client;
    uint64_t since;  // 0: no since
  };
  std::vector<joined> subscribers;
  std::string tag_list;
  for (int t = 0; t < tags; ++t) {
    tag_list += (t ? ",\"" : "\"") + tag_name(t) + "\"";
  }
  uint64_t published_per_tag = 0;
  const auto publish_half_batch = [&] {
    for (int k = 0; k < batch / 2; ++k) {
      for (int t = 0; t < tags; ++t) {
        for (ws_client& p : publishers) {
          p.send_text(R"({"op":"pub","tag":")" + tag_name(t) + R"(","data":0})");
        }
      }
    }
    published_per_tag += batch / 2 * publishers.size();
  };
  for (int round = 0; round < rounds; ++round) {
    // The sub goes out between two bursts of publications, without waiting for anything:
    // it races the records in flight between the shards.
    ws_client c = ws_client::connect(server.port());
    const uint64_t since = round % 2 == 0 ? 0 : published_per_tag / 2;  // surely retained
    publish_half_batch();
    std::string request = R"({"op":"sub","id":1,"tags":[)" + tag_list + "]";
    if (since > 0) {
      request += R"(,"since":{)";
      for (int t = 0; t < tags; ++t) {
        request += (t ? ",\"" : "\"") + tag_name(t) + "\":" + std::to_string(since);
      }
      request += "}";
    }
    c.send_text(request + "}");
    publish_half_batch();
    subscribers.push_back({std::move(c), since});
  }
  const uint64_t total_per_tag = published_per_tag;

  for (std::size_t i = 0; i < subscribers.size(); ++i) {
    SCOPED_TRACE("subscriber " + std::to_string(i) + " since " +
                 std::to_string(subscribers[i].since));
    ws_client& c = subscribers[i].client;
    const json_message ok = c.next_json();
    ASSERT_EQ(ok.op(), "ok") << ok.text();
    EXPECT_FALSE(ok.has("/gaps")) << ok.text();
    std::map<std::string, uint64_t> last;
    uint64_t expected_count = 0;
    for (int t = 0; t < tags; ++t) {
      const uint64_t top = ok.u64("/seq/" + tag_name(t));
      last[tag_name(t)] = subscribers[i].since > 0 ? subscribers[i].since : top;
      expected_count += total_per_tag - last[tag_name(t)];
    }
    for (uint64_t k = 0; k < expected_count; ++k) {
      const json_message m = c.next_json();
      ASSERT_EQ(m.op(), "msg") << m.text();
      uint64_t& previous = last[m.str("/tag")];
      ASSERT_EQ(m.u64("/seq"), previous + 1) << "gap or duplicate on " << m.str("/tag");
      previous = m.u64("/seq");
    }
    for (int t = 0; t < tags; ++t) {
      EXPECT_EQ(last[tag_name(t)], total_per_tag);
    }
    expect_no_more(c);
  }
}

TEST(Shards, UnsubRightAfterSubStopsDelivery) {
  server_process server({"--no-auth", "--shards", "2"});
  ASSERT_TRUE(server.start());
  ws_client pub = ws_client::connect(server.port());
  std::string tags;
  for (int t = 0; t < tag_count; ++t) {
    tags += (t ? ",\"" : "\"") + tag_name(t) + "\"";
  }
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE("round " + std::to_string(i));
    ws_client c = ws_client::connect(server.port());
    // Both in one write: the unsub arrives while the sub's queries are still out.
    c.send_raw(encode_frame({.payload = R"({"op":"sub","id":1,"tags":[)" + tags + "]}"}) +
               encode_frame({.payload = R"({"op":"unsub","id":2,"tags":[)" + tags + "]}"}));
    // Replies are matched by id, not by order (the unsub may well be answered first).
    std::set<std::string> ids;
    ids.insert(std::string(c.wait_for("ok").raw("id")));
    ids.insert(std::string(c.wait_for("ok").raw("id")));
    EXPECT_EQ(ids, (std::set<std::string>{"1", "2"}));
    for (int t = 0; t < tag_count; ++t) {
      ASSERT_EQ(pub.call(R"({"op":"pub","id":1,"tag":")" + tag_name(t) + R"(","data":0})").op(),
                "ok");
    }
    // The pub acks came back from the owners, so their fan-out to c's shard is at least on
    // its way; a delivery that slipped through would almost always show before c's ping ok.
    expect_no_more(c);
  }
}

TEST(Shards, ClientsVanishingMidRequestAreHarmless) {
  // Requests whose answers come back from the other shard after the client is gone (reset,
  // so the server sees it at once): the answer must find no stale connection.
  server_process server({"--no-auth", "--shards", "2"});
  ASSERT_TRUE(server.start());
  std::string tags;
  std::string since;
  for (int t = 0; t < tag_count; ++t) {
    tags += (t ? ",\"" : "\"") + tag_name(t) + "\"";
    since += (t ? ",\"" : "\"") + tag_name(t) + "\":0";
  }
  for (int i = 0; i < 60; ++i) {
    ws_client c = ws_client::connect(server.port());
    std::string burst;
    for (int t = 0; t < tag_count; ++t) {
      burst += encode_frame({.payload = R"({"op":"pub","id":)" + std::to_string(t) +
                                        R"(,"tag":")" + tag_name(t) + R"(","data":0})"});
    }
    burst += encode_frame(
        {.payload = R"({"op":"sub","id":"s","tags":[)" + tags + R"(],"since":{)" + since + "}}"});
    c.send_raw(burst);
    c.socket().reset();
  }
  // The server still serves everyone. A reset may discard a client's last unread bytes, and
  // the last bursts may still be in flight, so each tag holds at most 60 messages; a new
  // publish is numbered after whatever is there.
  ws_client check = ws_client::connect(server.port());
  const json_message ok = check.call(R"({"op":"sub","id":1,"tags":[)" + tags + "]}");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  for (int t = 0; t < tag_count; ++t) {
    const uint64_t top = ok.u64("/seq/" + tag_name(t));
    EXPECT_LE(top, 60u);
    const json_message pub = check.call(R"({"op":"pub","id":"p","tag":")" + tag_name(t) +
                                        R"(","data":1})");
    ASSERT_EQ(pub.op(), "ok") << pub.text();
    EXPECT_GT(pub.u64("/seq"), top);
    EXPECT_LE(pub.u64("/seq"), 61u);
  }
  EXPECT_EQ(http_get(server.port(), "/healthz").status, 200);
  EXPECT_TRUE(server.running());
}

}  // namespace
}  // namespace wsa::test
