// The broker's results, as an ordered queue the shard drains once per loop turn, in its
// "broker results" phase (docs/architecture.md "The loop turn"). A broker never calls back
// into its caller: publish() and query() only queue work (or, for the embedded broker, their
// answers), so nothing re-enters the router or the broker while either is running.
//
// Order is the contract: the `published` of a publish comes before its `message`; the
// `queried` of a watched tag comes after every `message` of that tag up to the top it
// reports (the router's merge drops held messages at or below it).
// Shard thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/message.h"

namespace wsa {

/// Which local subscribers a live message reaches. The embedded broker streams each tag
/// once and reaches everyone (`all`). The Redis broker streams a tag on its own channel to
/// its exact subscribers (`exact`) and on each watched pattern's channel to those that hold
/// a matching pattern but not the tag itself (`patterns`), so nobody gets it twice.
enum class delivery_scope : uint8_t { all = 0, exact = 1, patterns = 2 };

/// Where a tag's history stands for a subscriber.
struct tag_position {
  uint64_t top = 0;   ///< the highest seq assigned so far (0: none yet)
  std::string epoch;  ///< the tag's life (empty for a pattern)
  bool gap = false;   ///< recovery could not reach back to `since`
};

/// One tag of a pattern's recovery answer.
struct named_position {
  std::string tag;
  tag_position position;
};

struct broker_event {
  enum class kind : uint8_t {
    published,   ///< a publish finished: ok with seq and ts, or failed with `error`
    message,     ///< a live message of a watched tag or pattern, in seq order per tag
    queried,     ///< the answer to query(): position and the missed messages, in order
    stream_gap,  ///< the live stream of `key` lost messages nobody can deliver any more
    presence,    ///< 1.1: `member` joined (ok) or left (!ok) the exact tag `key`, as `who`
    presence_listed,  ///< the answer to presence_query(): `seq` members, `who` a JSON array
    retained,    ///< a retained message of the cluster (shares_retained): `msg`, whose seq
                 ///< and ts order the changes; empty data: the tag's was cleared
    retained_reset,  ///< the whole set of retained messages follows: forget the others
  };
  kind what = kind::message;
  uint64_t ticket = 0;          ///< published, queried: the caller's ticket
  bool ok = true;               ///< published, queried
  const char* error = nullptr;  ///< a protocol error code ("unavailable") when not ok
  uint64_t seq = 0;             ///< published
  int64_t ts_ms = 0;            ///< published: the broker's publication time (0: unknown)
  bool dup = false;             ///< published: an idem repeat (seq and ts are the first's)
  message_ref msg;              ///< message
  delivery_scope scope = delivery_scope::all;  ///< message
  tag_position position;                       ///< queried
  std::vector<message_ref> missed;             ///< queried: retained messages after since
  std::vector<named_position> tags;            ///< queried, pattern recovery: tags replayed
  std::string key;                             ///< stream_gap: the tag or pattern; presence
  std::string member;                          ///< presence: "<node>|<conn>"
  std::string who;                             ///< presence: an object; presence_listed: array
};

class broker_events {
 public:
  void published(uint64_t ticket, uint64_t seq, int64_t ts_ms, bool dup = false) {
    broker_event& e = push(broker_event::kind::published);
    e.ticket = ticket;
    e.seq = seq;
    e.ts_ms = ts_ms;
    e.dup = dup;
  }
  void publish_failed(uint64_t ticket, const char* error) {
    broker_event& e = push(broker_event::kind::published);
    e.ticket = ticket;
    e.ok = false;
    e.error = error;
  }
  /// Takes over the caller's reference to `m`.
  void message(message_ref m, delivery_scope scope) {
    broker_event& e = push(broker_event::kind::message);
    e.msg = std::move(m);
    e.scope = scope;
  }
  /// The answer to a query; the caller appends the missed messages to the event returned.
  broker_event& queried(uint64_t ticket, uint64_t top, std::string_view epoch, bool gap) {
    broker_event& e = push(broker_event::kind::queried);
    e.ticket = ticket;
    e.position.top = top;
    e.position.epoch.assign(epoch);
    e.position.gap = gap;
    return e;
  }
  void query_failed(uint64_t ticket, const char* error) {
    broker_event& e = push(broker_event::kind::queried);
    e.ticket = ticket;
    e.ok = false;
    e.error = error;
  }
  void stream_gap(std::string_view key) {
    push(broker_event::kind::stream_gap).key.assign(key);
  }
  /// Takes over the caller's reference to `m`.
  void retained(message_ref m) { push(broker_event::kind::retained).msg = std::move(m); }
  void retained_reset() { push(broker_event::kind::retained_reset); }

  /// Protocol 1.1: `member` joined (`joined`) or left the exact tag, as `who`.
  void presence(std::string_view tag, bool joined, std::string_view member,
                std::string_view who) {
    broker_event& e = push(broker_event::kind::presence);
    e.ok = joined;
    e.key.assign(tag);
    e.member.assign(member);
    e.who.assign(who);
  }
  /// The answer to a presence query: `count` members, `who_array` listing some of them.
  void presence_listed(uint64_t ticket, uint64_t count, std::string_view who_array) {
    broker_event& e = push(broker_event::kind::presence_listed);
    e.ticket = ticket;
    e.seq = count;
    e.who.assign(who_array);
  }
  void presence_failed(uint64_t ticket, const char* error) {
    broker_event& e = push(broker_event::kind::presence_listed);
    e.ticket = ticket;
    e.ok = false;
    e.error = error;
  }

  bool empty() const { return queue_.empty(); }
  std::size_t size() const { return queue_.size(); }

  /// Calls fn(broker_event&) for every event in order, including those queued while
  /// draining, until the queue is empty.
  template <class Fn>
  void drain(Fn&& fn) {
    while (!queue_.empty()) {
      draining_.swap(queue_);
      for (broker_event& e : draining_) {
        fn(e);
      }
      draining_.clear();
    }
  }

 private:
  broker_event& push(broker_event::kind what) {
    broker_event& e = queue_.emplace_back();
    e.what = what;
    return e;
  }

  std::vector<broker_event> queue_;
  std::vector<broker_event> draining_;  // the batch being handed out (reused)
};

}  // namespace wsa
