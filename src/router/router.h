// The pub/sub router of one shard (docs/architecture.md "Publishing, ordering and
// fan-out"): everything between a protocol handler's request and the broker, and between
// the broker's results and the connections that get them.
//
// - Owner choice: each key has one owner shard (router/owner.h); publishes and queries go
//   to it (a record when it is another shard), and only the owner calls its broker.
// - Interest: a shard announces its first and last local subscriber of a tag to the tag's
//   owner and of a pattern to every shard (router/interest.h); the owner watches a key with
//   its broker while any shard is interested, and forwards live messages only to shards
//   that can use them.
// - Fan-out: a live message reaches each local subscriber once (router/subscriptions.h),
//   in one router_client::deliver call per message and shard.
// - The pending-subscription merge (router/pending.h): a new subscription joins the live
//   stream without a gap or a duplicate, replay first.
// - The typed records between shards (router/records.h).
//
// It has no sockets, no threads and no transport: its ports (router/ports.h) are the
// mailboxes and the local connections, so unit tests run several routers in one thread
// with a fake broker and fake mailboxes. Requests from handlers never call back into the
// handler (answers come from records or broker events, in later phases of the loop turn).
// One per shard; shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.h"
#include "obs/metrics.h"
#include "pubsub/tag_set.h"
#include "router/conflation.h"
#include "router/interest.h"
#include "router/pending.h"
#include "router/ports.h"
#include "router/records.h"
#include "router/presence_local.h"
#include "router/subscriptions.h"

namespace wsa {

/// One key of a subscribe request.
struct sub_item {
  std::string_view key;  ///< a tag or a pattern
  bool has_since = false;
  uint64_t since_seq = 0;
  std::string_view since_epoch;
  /// Protocol 1.1 `"mode":"latest"`: the interval in ms; 0: every message ("all"). Kept
  /// with the key in router/subscriptions.h; a key held already takes the new mode.
  uint32_t latest_ms = 0;
  /// Protocol 1.1 recovery on a pattern (`since` in its pattern form, for a pattern key).
  bool pattern_since = false;
  bool since_has_ts = false;
  uint64_t since_ts = 0;
  std::span<const known_position> known;  ///< the positions the client gave
  uint32_t max_tags = 1000;               ///< --max-recovery-tags
  /// Protocol 1.1 `"presence":true`: join/leave events of this exact tag (see
  /// presence_identify; ignored for patterns and unidentified connections).
  bool presence = false;
};

class router {
 public:
  router(unsigned shard, unsigned shards, broker& b, mail_port& mail, router_client& client,
         shard_metrics& metrics);
  ~router();
  router(const router&) = delete;
  router& operator=(const router&) = delete;

  // ---- requests of the local connections (already validated by their handler) ----

  /// Publishes `data` on `tag`; the outcome comes to router_client::published. False when
  /// refused at once (the tag's owner, or its fan-out, has a full backlog between shards):
  /// the caller answers `unavailable`.
  /// `idem` (protocol 1.1, empty: none) is the publisher's idempotency key; `meta` the
  /// publisher's metadata carried with the message (message::meta; empty: none).
  bool publish(subscriber_id from, std::string_view request_id, std::string_view tag,
               std::string_view data, std::string_view idem = {}, std::string_view meta = {});

  /// MQTT retained messages kept by the broker for every node (broker::shares_retained).
  bool shares_retained() const { return broker_.shares_retained(); }
  /// Why a subscription to `pattern` cannot be served here (broker::pattern_refusal).
  const char* pattern_refusal(std::string_view pattern, bool since) const {
    return broker_.pattern_refusal(pattern, since);
  }
  void retain(const retain_request& request) { broker_.retain(request); }

  enum class sub_status : uint8_t {
    waiting,   ///< the answer comes to router_client::subscribed
    done,      ///< nothing to wait for (only patterns that flow at once): answer ok now
    answered,  ///< refused at once (backlogs): router_client::subscribed has been called
  };
  /// Subscribes `who` to every key of `items` (repeats count once; keys held already stay
  /// held and, if exact, get their position again). The replays of one request share
  /// `max_replay_bytes` (the subscriber's outbound limit): no owner copies more than its
  /// share, and what does not fit is reported as a gap.
  sub_status subscribe(subscriber_id who, std::string_view request_id,
                       std::span<const sub_item> items, uint64_t max_replay_bytes);
  /// Ends `who`'s subscription to `key` (and the key's part of its waiting requests).
  void unsubscribe(subscriber_id who, std::string_view key);
  /// The same for every key of `keys`, in one pass over what `who` holds and waits for.
  void unsubscribe(subscriber_id who, const tag_set& keys);
  /// A new token: every subscription and waiting entry of `who` that allowed(key) refuses
  /// ends.
  template <class Allowed>
  void restrict(subscriber_id who, Allowed&& allowed);
  /// Whether some subscribe request of `slot` waits for its answer.
  bool waiting(uint32_t slot) const { return pending_.any(slot); }
  /// Whether this shard's broker still owes an answer (to any shard's connection).
  bool owes_answers() const {
    return publish_waiters_.size() != free_publish_waiters_.size() ||
           query_waiters_.size() != free_query_waiters_.size() ||
           presence_waiters_.size() != free_presence_waiters_.size();
  }
  /// Subscribe requests of `slot` with `since` still waiting (--max-pending-recoveries).
  std::size_t pending_recoveries(uint32_t slot) const { return pending_.recoveries(slot); }
  /// The connection in `slot` is closing: everything it held or waited for ends.
  void drop(uint32_t slot);

  bool holds(uint32_t slot, std::string_view key) const { return local_.holds(slot, key); }
  std::size_t subscription_count(uint32_t slot) const { return local_.count(slot); }

  // ---- protocol 1.1 presence (router_presence.cpp) ----

  /// Makes the connection in `slot` a presence member from its next exact subscription on:
  /// `member` is "<node>|<conn>", `who` the JSON object its join and leave events carry.
  void presence_identify(uint32_t slot, std::string_view member, std::string_view who) {
    presence_.identify(slot, member, who);
  }
  bool presence_identified(uint32_t slot) const { return presence_.find(slot) != nullptr; }
  /// The members of the exact `tag` on every node; the answer comes to
  /// router_client::presence_listed. False when refused at once (the owner's backlog).
  bool presence_query(subscriber_id from, std::string_view request_id, std::string_view tag,
                      uint32_t limit, uint64_t max_bytes);

  // ---- the loop ----

  /// A record from shard `from`; a malformed one is dropped (and counted) as the bug it is.
  void on_record(unsigned from, uint32_t type, std::string_view bytes);
  /// One result of this shard's broker (the "broker results" phase).
  void on_broker_event(broker_event& e);

  /// Once per loop turn (monotonic ms): conflated messages whose interval has passed.
  void tick(int64_t now_ms) { latest_.tick(now_ms); }

  /// Records that did not parse (each one a bug).
  uint64_t bad_records() const { return bad_records_; }

 private:
  // owner side
  void owner_publish(unsigned origin, subscriber_id from, std::string_view request_id,
                     std::string_view tag, std::string_view data, std::string_view idem,
                     std::string_view meta);
  void owner_query(unsigned origin, subscriber_id from, uint32_t request, std::string_view key,
                   const since_request& since);
  /// A pattern recovery's queries: to every shard (each for the known tags it owns) with
  /// the embedded broker, to the pattern's owner with Redis.
  void query_pattern_owners(subscriber_id who, uint32_t request, const pending_entry& e,
                            uint64_t max_bytes);
  void owner_query_pattern(unsigned origin, const records::pattern_query& q);
  /// Refuses (answers "not recovered" at once, counted) a query from `origin` whose replay
  /// would wait behind a full backlog to that shard; false when it may go on.
  bool refused_behind_backlog(unsigned origin, subscriber_id from, uint32_t request,
                              std::string_view key);
  void on_published(broker_event& e);
  void on_queried(broker_event& e);
  void on_live(message& m, delivery_scope scope);
  void on_stream_gap(std::string_view key);
  /// Would a message of `tag` published here be copied to a backlogged peer?
  bool fanout_backlogged(std::string_view tag) const;
  bool any_peer_backlogged() const;
  // subscriber side
  void fan_out(message& m, delivery_scope scope);
  void notify_gap(std::string_view key);
  void on_answer(subscriber_id to, uint32_t request, std::string_view key, bool ok,
                 uint64_t top, std::string_view epoch, bool gap);
  void complete(std::unique_ptr<pending_request> request);
  /// Adds `key` for `who` (a held key takes the new mode); true when it was not held.
  bool add(subscriber_id who, std::string_view key, uint32_t latest_ms);
  void remove(uint32_t slot, std::string_view key);
  /// Removes every key of `slot` that pred(key) selects, in one pass.
  template <class Pred>
  void remove_if(uint32_t slot, Pred&& pred);
  void announce(std::string_view key, bool added);
  void apply_interest(unsigned from, std::string_view key, bool added);
  // presence (router_presence.cpp)
  void presence_joined(uint32_t slot, std::string_view tag);
  void presence_left(uint32_t slot, std::string_view tag);
  void presence_change(bool joined, std::string_view tag, std::string_view member,
                       std::string_view who);
  void owner_presence_query(unsigned origin, subscriber_id from, std::string_view request_id,
                            std::string_view tag, uint32_t limit, uint64_t max_bytes);
  void on_presence(const broker_event& e);
  void on_presence_listed(const broker_event& e);
  void deliver_presence(bool joined, std::string_view tag, std::string_view member,
                        std::string_view who);
  /// A presence record; false when `type` is not one.
  bool on_presence_record(unsigned from, uint32_t type, std::string_view bytes);

  template <class R>
  void send(unsigned to, const R& record);
  template <class R>
  bool read(std::string_view bytes, R& record);

  const unsigned shard_;
  const unsigned shards_;
  broker& broker_;
  mail_port& mail_;
  router_client& client_;
  shard_metrics& metrics_;

  subscriptions local_;
  pending_requests pending_;
  interest interest_;
  conflation latest_;

  // Owner side: who waits for a broker answer (index = ticket).
  struct publish_waiter {
    unsigned origin;
    subscriber_id from;
    std::string request_id;
  };
  struct query_waiter {
    unsigned origin;
    subscriber_id from;
    uint32_t request;
    std::string key;
    bool pattern = false;  // a pattern recovery's answer
  };
  std::vector<publish_waiter> publish_waiters_;
  std::vector<uint32_t> free_publish_waiters_;
  std::vector<query_waiter> query_waiters_;
  std::vector<uint32_t> free_query_waiters_;
  struct presence_waiter {
    unsigned origin;
    subscriber_id from;
    std::string request_id;
  };
  std::vector<presence_waiter> presence_waiters_;
  std::vector<uint32_t> free_presence_waiters_;
  presence_local presence_;
  std::vector<uint32_t> presence_targets_;  // one event's local watchers (reused)

  std::vector<uint32_t> targets_;  // one message's local subscribers (reused)
  std::vector<subscriptions::latest_target> latest_targets_;  // ... that get it conflated
  std::vector<std::string_view> keys_scratch_;  // a request's keys (reused)
  std::vector<known_position> known_scratch_;   // a pattern query's known positions (reused)
  std::vector<bool> peer_marks_;   // one message's peers (reused)
  sub_delivery delivery_;          // a completed request's answer (reused)
  uint64_t bad_records_ = 0;
};

template <class R>
void router::send(unsigned to, const R& record) {
  post_record(mail_, to, record);
}

template <class Pred>
void router::remove_if(uint32_t slot, Pred&& pred) {
  const bool conflated = latest_.has(slot);
  const auto selected = [&](std::string_view key) {
    if (!pred(key)) {
      return false;
    }
    if (conflated) {
      latest_.discard(slot, key);  // its pending messages must not be sent any more
    }
    presence_left(slot, key);
    return true;
  };
  const std::size_t removed = local_.remove_if(
      slot, selected, [this](std::string_view key) { announce(key, false); });
  metrics_.subscriptions.sub(removed);
}

template <class Allowed>
void router::restrict(subscriber_id who, Allowed&& allowed) {
  remove_if(who.slot, [&](std::string_view key) { return !allowed(key); });
  // Waiting requests would be answered (and replayed) as if still allowed.
  pending_.cancel_if(who.slot, [&](std::string_view key) { return !allowed(key); });
}

}  // namespace wsa
