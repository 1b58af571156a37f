// Reads a broker's results the way the router does: drains its broker_events queue and
// keeps what came, in order, as plain values a test can compare. Test thread only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "broker/events.h"

namespace wsa::test {

struct recorded_events {
  struct ack {
    uint64_t ticket;
    bool ok;
    uint64_t seq;
    int64_t ts_ms;
    std::string error;
    bool dup = false;  ///< an idem repeat (protocol 1.1)
  };
  struct live {
    std::string tag;
    uint64_t seq;
    std::string data;
    delivery_scope scope;
    std::string meta;  ///< the publisher's metadata (message::meta)
  };
  struct answer {
    bool ok;
    uint64_t top;
    std::string epoch;
    bool gap;
    std::vector<uint64_t> seqs;
    std::vector<std::string> data;
    std::vector<std::string> meta;
  };

  std::vector<ack> acks;
  std::vector<live> messages;          ///< scopes `all` and `exact`
  std::vector<live> pattern_messages;  ///< scope `patterns`
  std::vector<live> retained;          ///< retained messages of the cluster (seq: order)
  std::map<uint64_t, answer> answers;
  // stream_gap events, with how many messages (exact, pattern) had come before each.
  struct gap {
    std::string key;
    std::size_t after_messages;
    std::size_t after_pattern_messages;
  };
  std::vector<gap> gaps;
  /// One line per message, answer and gap, in order: "msg <tag> <seq>", "ans <ticket> <top>",
  /// "gap <key>".
  std::vector<std::string> log;
  /// The same with the publish results too ("pub <ticket> <seq>"): every event in order.
  std::vector<std::string> all;

  /// Takes every event queued so far.
  void take(broker_events& events) {
    events.drain([this](broker_event& e) { record(e); });
  }

  std::vector<uint64_t> seqs_of(std::string_view tag) const {
    std::vector<uint64_t> out;
    for (const live& m : messages) {
      if (m.tag == tag) {
        out.push_back(m.seq);
      }
    }
    return out;
  }

 private:
  void record(broker_event& e) {
    switch (e.what) {
      case broker_event::kind::published:
        acks.push_back(
            {e.ticket, e.ok, e.seq, e.ts_ms, e.error != nullptr ? e.error : "", e.dup});
        all.push_back("pub " + std::to_string(e.ticket) + " " + std::to_string(e.seq));
        return;
      case broker_event::kind::message:
        (e.scope == delivery_scope::patterns ? pattern_messages : messages)
            .push_back({std::string(e.msg->tag()), e.msg->seq(), std::string(e.msg->data()),
                        e.scope, std::string(e.msg->meta())});
        note("msg " + std::string(e.msg->tag()) + " " + std::to_string(e.msg->seq()));
        return;
      case broker_event::kind::queried: {
        answer a{e.ok, e.position.top, e.position.epoch, e.position.gap, {}, {}, {}};
        for (const message_ref& m : e.missed) {
          a.seqs.push_back(m->seq());
          a.data.emplace_back(m->data());
          a.meta.emplace_back(m->meta());
        }
        answers[e.ticket] = std::move(a);
        note("ans " + std::to_string(e.ticket) + " " + std::to_string(e.position.top));
        return;
      }
      case broker_event::kind::stream_gap:
        gaps.push_back({e.key, messages.size(), pattern_messages.size()});
        note("gap " + e.key);
        return;
      case broker_event::kind::presence:
        note(std::string(e.ok ? "join " : "leave ") + e.key + " " + e.member + " " + e.who);
        return;
      case broker_event::kind::presence_listed:
        note("listed " + std::to_string(e.ticket) + " " + std::to_string(e.seq) + " " + e.who);
        return;
      case broker_event::kind::retained:
        retained.push_back({std::string(e.msg->tag()), e.msg->seq(), std::string(e.msg->data()),
                            e.scope, std::string(e.msg->meta())});
        note("ret " + std::string(e.msg->tag()));
        return;
      case broker_event::kind::retained_reset:
        note("ret-reset");
        return;
    }
  }
  void note(std::string line) {
    all.push_back(line);
    log.push_back(std::move(line));
  }
};

}  // namespace wsa::test
