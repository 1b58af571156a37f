// Several shards (--shards 2): a few hundred connections spread over both shards by the
// kernel, publishers on both, tags owned by both. Every subscriber gets every message once,
// per tag in seq order with seq contiguous (docs/protocol.md "Tags": seq grows by exactly 1).
#include <gtest/gtest.h>

#include <sched.h>

#include <charconv>
#include <filesystem>
#include <fstream>
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
// Tags land on shards by a hash seeded per process: with 16 tags, the chance that one shard
// owns them all (and cross-shard ordering goes unexercised) is 2^-15; with 8 it was 1/128.
constexpr int tag_count = 16;
constexpr int messages_per_publisher_and_tag = 5;

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

// A client on the given shard (the kernel spreads connections; retried until one lands).
ws_client connect_on_shard(uint16_t port, unsigned shard) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    ws_client c = ws_client::connect(port);
    if (shard_of(c) == shard) {
      return c;
    }
  }
  throw std::runtime_error("no connection landed on shard " + std::to_string(shard));
}

// `c` got nothing more than what it has read. The fence: `witness`, on c's shard and
// subscribed to `tag`, receives a message of `tag` published after everything that could
// reach c; a delivery to c would have been queued in the same fan-out, before the witness's
// copy, and c's ping, queued after the witness got it, comes after anything queued to c.
void expect_no_more_after(ws_client& c, ws_client& witness, ws_client& publisher,
                          const std::string& tag) {
  const json_message fence =
      publisher.call(R"({"op":"pub","id":"fence","tag":")" + tag + R"(","data":"fence"})");
  ASSERT_EQ(fence.op(), "ok") << fence.text();
  for (;;) {
    const json_message m = witness.next_json();
    ASSERT_EQ(m.op(), "msg") << m.text();
    if (m.u64("/seq") == fence.u64("/seq")) {
      break;
    }
  }
  expect_no_more(c);
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
    const unsigned shard = static_cast<unsigned>(i % 2);
    ws_client c = connect_on_shard(server.port(), shard);
    // Witnesses on c's shard hold every tag, so that each tag's messages keep coming to
    // that shard and each tag has a fence.
    ws_client witness = connect_on_shard(server.port(), shard);
    ASSERT_EQ(witness.call(R"({"op":"sub","id":1,"tags":[)" + tags + "]}").op(), "ok");
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
    for (int t = 0; t < tag_count; ++t) {
      expect_no_more_after(c, witness, pub, tag_name(t));
    }
  }
}

TEST(Shards, ClientsVanishingMidRequestAreHarmless) {
  // Requests whose answers come back from the other shard after the client is gone (reset,
  // so the server sees it at once): no answer may reach a connection that took the slot
  // since, and every publish the server accepted is numbered, none twice.
  server_process server({"--no-auth", "--shards", "2"});
  ASSERT_TRUE(server.start());
  std::string tags;
  std::string since;
  for (int t = 0; t < tag_count; ++t) {
    tags += (t ? ",\"" : "\"") + tag_name(t) + "\"";
    since += (t ? ",\"" : "\"") + tag_name(t) + "\":0";
  }
  std::vector<ws_client> newcomers;  // connected right after each reset: likely its slot
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
    newcomers.push_back(ws_client::connect(server.port()));
  }
  // A newcomer gets its own replies only. The fence: a publish to every tag from the
  // newcomer, answered by each tag's owner after whatever the owner answered before.
  for (std::size_t i = 0; i < newcomers.size(); ++i) {
    SCOPED_TRACE("newcomer " + std::to_string(i));
    ws_client& n = newcomers[i];
    for (int t = 0; t < tag_count; ++t) {
      const json_message ok = n.call(R"({"op":"pub","id":"n)" + std::to_string(t) +
                                     R"(","tag":")" + tag_name(t) + R"(","data":1})");
      ASSERT_EQ(ok.op(), "ok") << ok.text();
    }
    EXPECT_EQ(n.kept(), 0u) << "a stray frame reached a reused slot: " << n.next_json().text();
  }
  // Every publish the server took in was numbered once: the tags' tops add up to the
  // publishes counted by the metrics (a reset may discard a client's unread bytes, so the
  // count is not known in advance; a message lost or numbered twice would show). A sub
  // from each shard is the fence: its queries reach every owner behind whatever records
  // that shard sent before.
  ws_client first_check = connect_on_shard(server.port(), 0);
  ASSERT_EQ(first_check.call(R"({"op":"sub","id":1,"tags":[)" + tags + "]}").op(), "ok");
  ws_client check = connect_on_shard(server.port(), 1);
  const json_message ok = check.call(R"({"op":"sub","id":1,"tags":[)" + tags + "]}");
  ASSERT_EQ(ok.op(), "ok") << ok.text();
  const std::string metrics = http_get(server.port(), "/metrics").body;
  const uint64_t accepted = shard_value(metrics, "wsagent_publishes_total", 0) +
                            shard_value(metrics, "wsagent_publishes_total", 1);
  uint64_t numbered = 0;
  for (int t = 0; t < tag_count; ++t) {
    numbered += ok.u64("/seq/" + tag_name(t));
  }
  EXPECT_EQ(numbered, accepted);
  EXPECT_GE(accepted, newcomers.size() * tag_count);
  EXPECT_EQ(http_get(server.port(), "/healthz").status, 200);
  EXPECT_TRUE(server.running());
}

TEST(Shards, MailboxOverflowLosesNothing) {
  // More than a mailbox ring holds (1 MiB here) crosses from one shard to the other in one
  // loop turn: the records wait in the sender's overflow list (counted), and every message
  // still arrives, once, in order.
  server_process server({"--no-auth", "--shards", "2", "--max-message-bytes", "64KiB",
                         "--max-outbound-bytes", "64MiB"});
  ASSERT_TRUE(server.start());
  ws_client reader = connect_on_shard(server.port(), 0);
  std::string tags;
  for (int t = 0; t < tag_count; ++t) {
    tags += (t ? ",\"" : "\"") + tag_name(t) + "\"";
  }
  ASSERT_EQ(reader.call(R"({"op":"sub","id":1,"tags":[)" + tags + "]}").op(), "ok");
  ws_client writer = connect_on_shard(server.port(), 1);
  const std::string filler(60 * 1024, 'o');
  std::map<std::string, uint64_t> published;
  uint64_t overflows = 0;
  for (int burst = 0; burst < 20 && overflows == 0; ++burst) {
    // 64 messages of 60 KiB (nearly 4 MiB) in one write: they reach shard 1 together.
    std::string bytes;
    for (int k = 0; k < 64; ++k) {
      const std::string tag = tag_name(k % tag_count);
      bytes += encode_frame({.payload = R"({"op":"pub","tag":")" + tag + R"(","data":")" +
                                        filler + "\"}"});
      ++published[tag];
    }
    writer.send_raw(bytes);
    // Read everything before the next burst: per tag, seq from 1 up, no gap, no repeat.
    std::map<std::string, uint64_t> seen;
    for (int k = 0; k < 64; ++k) {
      const json_message m = reader.next_json(30s);
      ASSERT_EQ(m.op(), "msg") << m.text().substr(0, 100);
      uint64_t& last = seen[m.str("/tag")];
      last = last == 0 ? m.u64("/seq") : last + 1;
      ASSERT_EQ(m.u64("/seq"), last) << "gap or repeat on " << m.str("/tag");
      ASSERT_EQ(m.raw("data").size(), filler.size() + 2);
    }
    for (const auto& [tag, count] : seen) {
      EXPECT_EQ(count, published[tag]) << tag;
    }
    const std::string metrics = http_get(server.port(), "/metrics").body;
    overflows = shard_value(metrics, "wsagent_mailbox_overflows_total", 0) +
                shard_value(metrics, "wsagent_mailbox_overflows_total", 1);
  }
  EXPECT_GT(overflows, 0u) << "20 bursts of 4 MiB never filled a mailbox";
  expect_no_more(reader);
}

TEST(Shards, ExactTagAndOverlappingPatternsOnANonOwnerShardGetEachMessageOnce) {
  // A connection holding a tag, two patterns that match it and `>`, on each shard: for
  // every tag one of them is not the owner. Each message comes once, in order.
  server_process server({"--no-auth", "--shards", "2"});
  ASSERT_TRUE(server.start());
  std::vector<ws_client> holders;
  for (unsigned shard : {0u, 1u}) {
    holders.push_back(connect_on_shard(server.port(), shard));
    std::string tags;
    for (int t = 0; t < tag_count; ++t) {
      tags += "\"" + tag_name(t) + "\",";
    }
    const json_message ok = holders.back().call(R"({"op":"sub","id":1,"tags":[)" + tags +
                                                R"("room.*","*.>",">"]})");
    ASSERT_EQ(ok.op(), "ok") << ok.text();
  }
  ws_client pub = ws_client::connect(server.port());
  constexpr int rounds = 5;
  for (int n = 0; n < rounds; ++n) {
    for (int t = 0; t < tag_count; ++t) {
      pub.send_text(R"({"op":"pub","tag":")" + tag_name(t) + R"(","data":)" +
                    std::to_string(n) + "}");
    }
  }
  for (std::size_t h = 0; h < holders.size(); ++h) {
    SCOPED_TRACE("holder on shard " + std::to_string(h));
    std::map<std::string, uint64_t> last;
    for (int k = 0; k < rounds * tag_count; ++k) {
      const json_message m = holders[h].next_json();
      ASSERT_EQ(m.op(), "msg") << m.text();
      uint64_t& seq = last[m.str("/tag")];
      ASSERT_EQ(m.u64("/seq"), seq + 1) << "repeat or gap on " << m.str("/tag");
      seq = m.u64("/seq");
    }
    // The fence: one more message of every tag, each the next seq (a repeat of an earlier
    // one, from the other subscriptions, would come before it).
    for (int t = 0; t < tag_count; ++t) {
      ASSERT_EQ(pub.call(R"({"op":"pub","id":1,"tag":")" + tag_name(t) + R"(","data":"f"})")
                    .op(),
                "ok");
    }
    for (int t = 0; t < tag_count; ++t) {
      const json_message m = holders[h].next_json();
      ASSERT_EQ(m.raw("data"), "\"f\"") << m.text();
      EXPECT_EQ(m.u64("/seq"), ++last[m.str("/tag")]) << m.text();
    }
  }
}

TEST(Shards, ShardsArePinnedToTheirOwnCpuByDefault) {
  // Without --no-pin, shard i runs on the i-th CPU the process may use.
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) {
      cpus.push_back(cpu);
    }
  }
  if (cpus.size() < 2) {
    GTEST_SKIP() << "one CPU allowed: nothing to pin two shards to";
  }
  server_process server({"--no-auth", "--shards", "2"}, /*pinned=*/true);
  ASSERT_TRUE(server.start());
  // The log says where each shard went...
  std::set<std::string> logged;
  const std::string log = server.log();
  for (std::size_t at = 0; (at = log.find("msg=listening", at)) != std::string::npos; ++at) {
    const std::size_t cpu = log.find(" cpu=", at);
    const std::size_t eol = log.find('\n', at);
    ASSERT_LT(cpu, eol) << "a listening line without its cpu:\n" << log;
    logged.insert(log.substr(cpu + 5, log.find_first_of(" \n", cpu + 5) - cpu - 5));
  }
  EXPECT_EQ(logged, (std::set<std::string>{std::to_string(cpus[0]), std::to_string(cpus[1])}));
  // ...and the kernel agrees: two threads, each allowed exactly one of those CPUs.
  std::multiset<std::string> pinned;
  const std::string tasks = "/proc/" + std::to_string(server.pid()) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::ifstream status(task.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with("Cpus_allowed_list:")) {
        std::string list = line.substr(line.find_first_not_of(" \t", 18));
        if (list.find_first_of(",-") == std::string::npos) {
          pinned.insert(list);
        }
      }
    }
  }
  EXPECT_EQ(pinned, (std::multiset<std::string>{std::to_string(cpus[0]),
                                                 std::to_string(cpus[1])}));
  // And it serves.
  ws_client c = ws_client::connect(server.port());
  EXPECT_EQ(c.call(R"({"op":"ping","id":1})").op(), "ok");
}

}  // namespace
}  // namespace wsa::test
