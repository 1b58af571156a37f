// SIGTERM with work in flight (issue 14; docs/protocol.md "Draining"): publishes over
// WebSocket and POST /api/publish, and a `sub`, are on their way to Redis when the node is
// told to stop. Every request is answered before the connection closes, or provably not
// applied: after the node exited, Redis' history of the tag holds exactly the messages that
// got an `ok` (or a 200), each with the seq that was acknowledged.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/redis_nodes.h"

namespace wsa::test {
namespace {

// The history of `tag` in Redis: seq -> data.
std::map<uint64_t, std::string> history_of(const redis_process& redis, const std::string& tag) {
  // XRANGE as redis_process renders it: [[$<seq>-0,[$d,$<data>,$t,$<ms>]],...] (our data
  // holds no ',').
  const std::string reply = redis.command({"XRANGE", "wsa:{" + tag + "}:log", "-", "+"});
  std::map<uint64_t, std::string> out;
  std::size_t at = 0;
  while ((at = reply.find("-0,[$d,$", at)) != std::string::npos) {
    const std::size_t start = reply.rfind('$', at - 1) + 1;
    const uint64_t seq = std::stoull(reply.substr(start, at - start));
    const std::size_t data_at = at + 8;
    const std::size_t data_end = reply.find(",$t,", data_at);
    out[seq] = reply.substr(data_at, data_end - data_at);
    at = data_end;
  }
  return out;
}

// Redis' history of `tag` is exactly `acknowledged` (data -> seq).
void expect_history_is(const redis_process& redis, const std::string& tag,
                       const std::map<std::string, uint64_t>& acknowledged) {
  std::map<std::string, uint64_t> applied;
  for (const auto& [seq, data] : history_of(redis, tag)) {
    applied[data] = seq;
  }
  for (const auto& [data, seq] : applied) {
    EXPECT_TRUE(acknowledged.contains(data)) << data << " applied (seq " << seq
                                             << ") but never answered";
  }
  for (const auto& [data, seq] : acknowledged) {
    const auto it = applied.find(data);
    ASSERT_TRUE(it != applied.end()) << data << " acknowledged with seq " << seq
                                     << " but not in the history";
    EXPECT_EQ(it->second, seq) << data;
  }
}

TEST(DrainInFlight, EveryRequestIsAnsweredOrNotApplied) {
  redis_process redis;
  ASSERT_TRUE(redis.start());
  server_process node(
      redis_node_args(redis, "node-a", {"--drain-timeout", "20s", "--history-size", "10000"}));
  ASSERT_TRUE(start_redis_node(node));
  const std::string tag = "drain.t";

  // Publishers on both shards (the kernel spreads them), each with a burst in flight.
  std::vector<ws_client> publishers;
  for (int i = 0; i < 4; ++i) {
    publishers.push_back(ws_client::connect(node.port()));
  }
  constexpr int per_publisher = 150;
  for (std::size_t p = 0; p < publishers.size(); ++p) {
    std::string burst;
    for (int k = 0; k < per_publisher; ++k) {
      const int id = static_cast<int>(p) * 1000 + k;
      burst += encode_frame({.payload = pub_frame(tag, id, "\"w" + std::to_string(id) + "\"")});
      if (k == per_publisher / 2) {
        burst += encode_frame({.payload = R"({"op":"sub","id":"s","tags":["drain.other"]})"});
      }
    }
    publishers[p].send_raw(burst);
  }
  // Publishes over HTTP, one per connection, the last bytes sent just before the signal.
  std::vector<tcp_socket> api;
  for (int i = 0; i < 8; ++i) {
    const std::string body = R"({"tag":"drain.t","data":"h)" + std::to_string(i) + "\"}";
    api.push_back(tcp_socket::connect(node.port()));
    api.back().send_all("POST /api/publish HTTP/1.1\r\nHost: t\r\nContent-Type: "
                        "application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  node.signal(SIGTERM);

  // What each client was told before its connection ended.
  std::map<std::string, uint64_t> acknowledged;  // data -> seq
  std::set<std::string> refused;
  for (std::size_t p = 0; p < publishers.size(); ++p) {
    SCOPED_TRACE("publisher " + std::to_string(p));
    bool sub_answered = false;
    bool read_past_the_sub = false;  // a publish after it was answered: the sub was read
    for (;;) {
      const std::optional<ws_message> m = publishers[p].try_next_message(30s);
      ASSERT_TRUE(m.has_value()) << "no close frame";
      if (m->opcode == ws_op::close) {
        EXPECT_EQ(m->close_code, 1001);
        break;
      }
      if (m->opcode != ws_op::text) {
        continue;
      }
      const json_message reply(m->payload);
      if (reply.op() == "reconnect") {
        continue;  // protocol 1.1's drain notice, where implemented
      }
      if (reply.raw("id") == "\"s\"") {
        sub_answered = true;
        continue;
      }
      const std::string data = "\"w" + std::string(reply.raw("id")) + "\"";
      read_past_the_sub = read_past_the_sub ||
                          std::stoi(std::string(reply.raw("id"))) % 1000 > per_publisher / 2;
      if (reply.op() == "ok") {
        EXPECT_TRUE(acknowledged.emplace(data, reply.u64("/seq")).second) << reply.text();
      } else {
        ASSERT_EQ(reply.op(), "err") << reply.text();
        refused.insert(data);
      }
    }
    if (read_past_the_sub) {
      EXPECT_TRUE(sub_answered) << "the sub in flight got no answer";
    }
  }
  for (std::size_t i = 0; i < api.size(); ++i) {
    std::string buffer;
    try {
      const http_response r = read_http_response(api[i], buffer, 30s);
      if (r.status == 200) {
        const std::size_t colon = r.body.find(':');
        acknowledged.emplace("\"h" + std::to_string(i) + "\"",
                             std::stoull(r.body.substr(colon + 1)));
      }
    } catch (const std::exception&) {
      // Closed without an answer: then it must not have been applied (checked below).
    }
  }
  EXPECT_EQ(node.wait_exit(30s), 0) << node.log();

  // Redis' history, after the node is gone: exactly what was acknowledged.
  expect_history_is(redis, tag, acknowledged);
  std::cerr << "acknowledged " << acknowledged.size() << ", refused " << refused.size() << "\n";
}

// Keep-alive clients publishing over HTTP as fast as they are answered, on both shards, when
// SIGTERM lands. An answer that came back from the tag's owner shard in the turn the drain
// started was queued and then dropped with its connection (closed as if idle): applied,
// never answered. Repeated on a few nodes, since each drain starts in one turn only.
TEST(DrainInFlight, BusyHttpPublishersAreAnsweredOrNotApplied) {
  redis_process redis;
  ASSERT_TRUE(redis.start());
  constexpr int rounds = 4;
  constexpr int clients = 16;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    server_process node(redis_node_args(redis, "node-" + std::to_string(round),
                                        {"--drain-timeout", "20s", "--history-size", "100000"}));
    ASSERT_TRUE(start_redis_node(node));
    const std::string tag = "drain.busy" + std::to_string(round);
    std::atomic<int> answered{0};
    std::vector<std::map<std::string, uint64_t>> acknowledged(clients);  // one per client
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i) {
      threads.emplace_back([&, i] {
        int error = 0;
        tcp_socket s = tcp_socket::try_connect(node.port(), error);
        std::string buffer;
        for (int k = 0; s.is_open(); ++k) {
          const std::string data = "\"c" + std::to_string(i) + "-" + std::to_string(k) + "\"";
          const std::string body = R"({"tag":")" + tag + R"(","data":)" + data + "}";
          if (!s.try_send_all("POST /api/publish HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body)) {
            return;
          }
          try {
            const http_response r = read_http_response(s, buffer, 30s);
            if (r.status == 200) {
              acknowledged[i].emplace(data, std::stoull(r.body.substr(r.body.find(':') + 1)));
            }
            answered.fetch_add(1);
          } catch (const std::exception&) {
            return;  // closed unanswered: must not have been applied (checked below)
          }
        }
      });
    }
    // Under way on every connection (a generous wait, not a measure of speed).
    const auto warm_until = std::chrono::steady_clock::now() + 30s;
    while (answered.load() < clients * 10 && std::chrono::steady_clock::now() < warm_until) {
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_GE(answered.load(), clients * 10) << "the publishers never got going";
    node.signal(SIGTERM);
    for (std::thread& t : threads) {
      t.join();
    }
    EXPECT_EQ(node.wait_exit(30s), 0) << node.log();
    std::map<std::string, uint64_t> all;
    for (const auto& m : acknowledged) {
      all.insert(m.begin(), m.end());
    }
    expect_history_is(redis, tag, all);
    std::cerr << "round " << round << ": acknowledged " << all.size() << "\n";
  }
}

}  // namespace
}  // namespace wsa::test
