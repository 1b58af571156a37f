// Several routers in one thread, as the shards of one node: fake mailboxes between them
// (FIFO per direction, visible at the end of a turn like the real ones), a fake broker per
// shard, and a client per shard that records what its connections would get. A "turn" runs
// every shard's mail and broker results, like the loop's phases; settle() runs turns until
// nothing moves. No sockets, no threads.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "broker/recovery.h"
#include "router/owner.h"
#include "router/router.h"

namespace wsa::test {

/// A broker under the test's control: numbering and history like the embedded broker, with
/// switches to hold query answers back (answered by the test), to fail, and to give
/// patterns their own stream (like Redis).
class fake_broker final : public broker {
 public:
  explicit fake_broker(broker_events& results) : broker(results) {}

  void publish(const publish_request& r) override {
    if (fail_publishes) {
      results_.publish_failed(r.ticket, "unavailable");
      return;
    }
    auto& log = tags_[std::string(r.tag)];
    const uint64_t seq = ++log.top;
    message_ref m = message_ref::adopt(message::make(r.tag, seq, 1000 + int64_t(seq), r.data));
    log.history.push_back(m);
    results_.published(r.ticket, seq, m->ts_ms());
    results_.message(std::move(m), delivery_scope::all);
  }
  void query(std::string_view key, const since_request& since, uint64_t ticket) override {
    queries.push_back(std::string(key));
    held_queries.push_back({std::string(key), since.present, since.seq,
                            std::string(since.epoch), ticket});
    if (!hold_queries) {
      answer_held();
    }
  }
  void query_pattern(const pattern_since_request& r, uint64_t ticket) override {
    queries.push_back(std::string(r.pattern));
    held_query q{std::string(r.pattern), true, 0, {}, ticket};
    q.pattern = true;
    q.has_ts = r.has_ts;
    q.ts = r.ts_ms;
    q.max_tags = r.max_tags;
    for (const known_position& k : r.known) {
      q.known[std::string(k.tag)] = {k.seq, std::string(k.epoch)};
    }
    held_queries.push_back(std::move(q));
    if (!hold_queries) {
      answer_held();
    }
  }
  void watch(std::string_view key) override { watched.insert(std::string(key)); }
  void unwatch(std::string_view key) override { watched.erase(std::string(key)); }
  bool ready() const override { return true; }
  bool pattern_streams() const override { return patterns_stream; }

  /// Answers every query held back so far, in order (fail: answers "unavailable").
  void answer_held(bool fail = false) {
    compute_held(fail);
    release_computed();
  }
  /// Works out the answers of the held queries as things stand now, without giving them
  /// yet (as a Redis answer waits for the live stream to catch up).
  void compute_held(bool fail = false) {
    std::vector<held_query> now;
    now.swap(held_queries);
    for (const held_query& q : now) {
      computed_answer a{q.ticket, !fail, 0, false, {}};
      if (fail) {
        computed.push_back(std::move(a));
        continue;
      }
      if (q.pattern) {
        compute_pattern(q, a);
        computed.push_back(std::move(a));
        continue;
      }
      auto& log = tags_[q.key];
      a.top = log.top;
      const since_request since{q.has_since, q.since_seq, q.since_epoch};
      if (since.present) {
        const recovery_plan plan = plan_recovery(since, epoch, log.top);
        uint64_t first = 0;
        for (const message_ref& m : log.history) {
          if (m->seq() > plan.after) {
            first = first == 0 ? m->seq() : first;
            a.missed.push_back(m);
          }
        }
        a.gap = recovery_gap(plan, log.top, first);
      }
      computed.push_back(std::move(a));
    }
  }
  /// Gives the answers computed so far.
  void release_computed() {
    for (computed_answer& a : computed) {
      if (!a.ok) {
        results_.query_failed(a.ticket, "unavailable");
        continue;
      }
      broker_event& e = results_.queried(a.ticket, a.top, a.pattern ? "" : epoch, a.gap);
      e.missed = std::move(a.missed);
      e.tags = std::move(a.tags);
    }
    computed.clear();
  }
  /// Keeps only the newest `n` messages of `tag` (history trimmed).
  void trim(const std::string& tag, std::size_t n) {
    auto& h = tags_[tag].history;
    while (h.size() > n) {
      h.erase(h.begin());
    }
  }

  bool hold_queries = false;
  bool fail_publishes = false;
  bool patterns_stream = false;
  std::string epoch = "e0e0e0e0";
  std::vector<std::string> queries;
  std::set<std::string> watched;

 private:
  struct tag_log {
    uint64_t top = 0;
    std::vector<message_ref> history;
  };
  struct held_query {
    std::string key;
    bool has_since;
    uint64_t since_seq;
    std::string since_epoch;
    uint64_t ticket;
    bool pattern = false;  // a pattern recovery (only tags this broker's shard owns count)
    bool has_ts = false;
    uint64_t ts = 0;
    uint32_t max_tags = 0;
    std::map<std::string, std::pair<uint64_t, std::string>> known;
  };
  struct computed_answer {
    uint64_t ticket;
    bool ok;
    uint64_t top;
    bool gap;
    std::vector<message_ref> missed;
    std::vector<named_position> tags;
    bool pattern = false;
  };
  // The embedded broker's rules, simplified: tags named get what follows their seq (a
  // restart if their epoch differs), others what was published at or after ts.
  void compute_pattern(const held_query& q, computed_answer& a) {
    a.pattern = true;
    for (auto& [tag, log] : tags_) {
      if (log.top == 0 || !pattern_matches(q.key, tag)) {
        continue;
      }
      auto k = q.known.find(tag);
      uint64_t after = 0;
      bool gap = false;
      if (k != q.known.end()) {
        const since_request since{true, k->second.first, k->second.second};
        const recovery_plan plan = plan_recovery(since, epoch, log.top);
        after = plan.after;
        gap = plan.restart;
      }
      std::vector<message_ref> replay;
      for (const message_ref& m : log.history) {
        const bool wanted = k != q.known.end()
                                ? m->seq() > after
                                : !q.has_ts || static_cast<uint64_t>(m->ts_ms()) >= q.ts;
        if (wanted) {
          replay.push_back(m);
        }
      }
      if (replay.empty() && !gap) {
        continue;
      }
      if (a.tags.size() >= q.max_tags) {
        a.gap = true;
        break;
      }
      named_position& n = a.tags.emplace_back();
      n.tag = tag;
      n.position = {log.top, epoch, gap};
      a.missed.insert(a.missed.end(), replay.begin(), replay.end());
    }
  }

  std::map<std::string, tag_log> tags_;
  std::vector<held_query> held_queries;
  std::vector<computed_answer> computed;
};

/// What the connections of one shard got, in order.
class recording_client final : public router_client {
 public:
  struct delivery {
    uint32_t slot;
    std::string tag;
    uint64_t seq;
  };
  struct reply {
    subscriber_id to;
    std::string request_id;
    bool ok;
    uint64_t seq;
    std::string error;
  };
  struct answer {
    subscriber_id to;
    std::string request_id;
    bool ok;
    std::map<std::string, uint64_t> positions;
    std::map<std::string, bool> gaps;
  };

  void deliver(message& m, std::span<const uint32_t> subscribers) override {
    ++deliver_calls;
    for (const uint32_t slot : subscribers) {
      deliveries.push_back({slot, std::string(m.tag()), m.seq()});
      log.push_back(std::to_string(slot) + " msg " + std::string(m.tag()) + " " +
                    std::to_string(m.seq()));
    }
  }
  void published(subscriber_id to, std::string_view request_id,
                 const publish_outcome& o) override {
    replies.push_back({to, std::string(request_id), o.ok, o.seq, std::string(o.error)});
  }
  void subscribed(subscriber_id to, const sub_outcome& o) override {
    answer a{to, std::string(o.request_id), o.ok, {}, {}};
    for (const sub_position& p : o.positions) {
      a.positions[std::string(p.tag)] = p.seq;
      a.gaps[std::string(p.tag)] = p.gap;
    }
    answers.push_back(a);
    log.push_back(std::to_string(to.slot) + (o.ok ? " ok " : " err ") + std::string(o.request_id));
    for (message* m : o.messages) {
      deliveries.push_back({to.slot, std::string(m->tag()), m->seq()});
      log.push_back(std::to_string(to.slot) + " msg " + std::string(m->tag()) + " " +
                    std::to_string(m->seq()));
    }
  }
  void stream_gap(std::string_view key, std::span<const uint32_t> subscribers) override {
    for (const uint32_t slot : subscribers) {
      log.push_back(std::to_string(slot) + " gap " + std::string(key));
    }
  }
  std::size_t output_room(subscriber_id) override { return room; }

  /// The seqs of `tag` that `slot` got, in order.
  std::vector<uint64_t> seqs(uint32_t slot, const std::string& tag) const {
    std::vector<uint64_t> out;
    for (const delivery& d : deliveries) {
      if (d.slot == slot && d.tag == tag) {
        out.push_back(d.seq);
      }
    }
    return out;
  }

  std::vector<delivery> deliveries;
  std::vector<reply> replies;
  std::vector<answer> answers;
  std::vector<std::string> log;
  int deliver_calls = 0;
  std::size_t room = SIZE_MAX;  ///< what output_room answers
};

class node_harness;

/// One shard's mailboxes to the others: records wait in `outbox` until the end of the turn.
class fake_mail final : public mail_port {
 public:
  fake_mail(node_harness& node, unsigned from) : node_(node), from_(from) {}
  char* begin_record(unsigned to, uint32_t type, std::size_t size) override {
    writing_.emplace_back(to, type, std::string(size, '\0'));
    return std::get<2>(writing_.back()).data();
  }
  void end_record(unsigned) override {}
  bool backlogged(unsigned peer) const override { return backlogged_peers.count(peer) != 0; }
  bool any_backlogged() const override { return !backlogged_peers.empty(); }
  std::set<unsigned> backlogged_peers;  ///< peers a test declares backlogged
  /// Records written this turn, in order, then forgotten.
  std::vector<std::tuple<unsigned, uint32_t, std::string>> take() {
    return std::exchange(writing_, {});
  }

 private:
  node_harness& node_;
  unsigned from_;
  std::vector<std::tuple<unsigned, uint32_t, std::string>> writing_;
};

struct shard_parts {
  broker_events events;
  std::unique_ptr<fake_broker> broker;
  std::unique_ptr<fake_mail> mail;
  recording_client client;
  shard_metrics metrics;
  std::unique_ptr<wsa::router> router;
};

class node_harness {
 public:
  explicit node_harness(unsigned shards) : inbox_(shards * shards) {
    for (unsigned i = 0; i < shards; ++i) {
      auto p = std::make_unique<shard_parts>();
      p->broker = std::make_unique<fake_broker>(p->events);
      p->mail = std::make_unique<fake_mail>(*this, i);
      p->router =
          std::make_unique<wsa::router>(i, shards, *p->broker, *p->mail, p->client, p->metrics);
      shards_.push_back(std::move(p));
    }
  }

  unsigned size() const { return static_cast<unsigned>(shards_.size()); }
  shard_parts& at(unsigned i) { return *shards_[i]; }
  wsa::router& router(unsigned i) { return *shards_[i]->router; }
  recording_client& client(unsigned i) { return shards_[i]->client; }
  fake_broker& broker_of(unsigned i) { return *shards_[i]->broker; }

  /// A tag owned by shard `owner` (found by trying names).
  std::string tag_owned_by(unsigned owner, const std::string& prefix = "t") const {
    for (int i = 0;; ++i) {
      std::string tag = prefix + std::to_string(i);
      if (owner_of(tag, size()) == owner) {
        return tag;
      }
    }
  }

  /// One loop turn of shard `i`: mail from the others, then its broker results, then its
  /// own mail leaves. Returns whether anything happened.
  bool turn(unsigned i) {
    bool moved = false;
    shard_parts& s = *shards_[i];
    for (unsigned from = 0; from < size(); ++from) {
      auto& box = inbox_[from * size() + i];
      while (!box.empty()) {
        auto [type, bytes] = std::move(box.front());
        box.pop_front();
        s.router->on_record(from, type, bytes);
        moved = true;
      }
    }
    if (!s.events.empty()) {
      moved = true;
      s.events.drain([&](broker_event& e) { s.router->on_broker_event(e); });
    }
    return post(i) || moved;
  }
  /// Makes shard i's records of this turn visible to their peers.
  bool post(unsigned i) {
    bool any = false;
    for (auto& [to, type, bytes] : shards_[i]->mail->take()) {
      inbox_[i * size() + to].emplace_back(type, std::move(bytes));
      any = true;
    }
    return any;
  }
  /// Turns of every shard, in order, until nothing moves.
  void settle() {
    for (int round = 0; round < 1000; ++round) {
      bool moved = false;
      for (unsigned i = 0; i < size(); ++i) {
        moved = turn(i) || moved;
      }
      if (!moved) {
        return;
      }
    }
    FAIL() << "the routers never settled";
  }

 private:
  std::vector<std::unique_ptr<shard_parts>> shards_;
  std::vector<std::deque<std::pair<uint32_t, std::string>>> inbox_;  // [from * n + to]
};

}  // namespace wsa::test
