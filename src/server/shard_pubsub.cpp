// Pub/sub on a shard: per-tag ordering by the owner shard, fan-out by reference to local
// subscribers, copies to the other shards, and `since` recovery for subscribers. See
// records.h for the cross-shard flows and pending_sub.h for how a subscription joins the
// live stream without a gap or a duplicate.
#include <algorithm>
#include <cstring>
#include <memory>

#include "json/writer.h"
#include "obs/log.h"
#include "obs/stats_report.h"
#include "pubsub/hash.h"
#include "pubsub/tag.h"
#include "pubsub/tag_set.h"
#include "server/node.h"
#include "server/shard.h"
#include "util/check.h"
#include "util/clock.h"

namespace wsa {

unsigned shard::owner_of(std::string_view tag) const {
  // Patterns have one owner, so that a message matching several of them (one delivery per
  // pattern from Redis) arrives at one place, where it is delivered once.
  if (is_wildcard(tag)) {
    return 0;
  }
  // The seeded hash: with a public one, a client could pick tags that all land on one
  // shard. Every shard of the process shares the seed, so all agree on the owner.
  return static_cast<unsigned>(hash_bytes(tag) % node_.shard_count());
}

void shard::publish_stats(int64_t now) {
  next_stats_ms_ = now + 1000;
  render_stats_json(stats_json_, node_.node_id(), unix_ms(), node_.metrics());
  // Published like a client's message, from no connection: the answer finds nobody to tell.
  constexpr records::conn_address nobody{UINT32_MAX, 0};
  submit_publish(nobody, {}, node_.cfg().stats_tag, stats_json_);
}

// ---- owner side ----

void shard::publish(unsigned origin, records::conn_address from, std::string_view id,
                    std::string_view tag, std::string_view data) {
  if (any_backlogged_ && !shared_broker_ && fanout_backlogged(tag)) [[unlikely]] {
    // Its copies would wait behind a full backlog to a peer: refused, not queued.
    metrics_.shard_backlog_refusals.add();
    answer_publish(origin, from, id, false, 0, "unavailable");
    return;
  }
  uint32_t ticket;
  if (!free_publish_waiters_.empty()) {
    ticket = free_publish_waiters_.back();
    free_publish_waiters_.pop_back();
  } else {
    ticket = static_cast<uint32_t>(publish_waiters_.size());
    publish_waiters_.emplace_back();
  }
  publish_waiter& w = publish_waiters_[ticket];
  w.origin = origin;
  w.from = from;
  w.id.assign(id);
  broker_->publish(tag, data, ticket);
}

void shard::on_published(uint64_t ticket, bool ok, uint64_t seq, const char* error) {
  publish_waiter& w = publish_waiters_[ticket];
  answer_publish(w.origin, w.from, w.id, ok, seq, error != nullptr ? error : "");
  free_publish_waiters_.push_back(static_cast<uint32_t>(ticket));
}

void shard::answer_publish(unsigned origin, records::conn_address from, std::string_view id,
                           bool ok, uint64_t seq, std::string_view error) {
  if (origin == id_) {
    on_publish_result(from, id, ok, seq, error);
  } else {
    post_record(*this, origin, records::published{from, seq, ok, id, error});
  }
}

void shard::on_tag_message(std::string_view tag, uint64_t seq, frame* msg) {
  const fanout_scope scope = shared_broker_ ? fanout_scope::exact : fanout_scope::all;
  fanout(tag, seq, msg, scope);
  forward(tag, seq, msg, scope);
}

void shard::on_pattern_message(std::string_view pattern, std::string_view tag, uint64_t seq,
                               frame* msg) {
  (void)pattern;  // once per publish, however many watched patterns match (broker.h)
  fanout(tag, seq, msg, fanout_scope::patterns);
  forward(tag, seq, msg, fanout_scope::patterns);
}

void shard::on_stream_gap(std::string_view key) {
  // The owner of the key (shard 0 for patterns) tells every shard with subscribers, through
  // the mailboxes that carry the key's messages, so the notice keeps its place among them.
  notify_gap(key);
  const records::gap record{key};
  for (const uint32_t peer : interest_.subscribers_of(key)) {
    if (peer != id_) {
      post_record(*this, peer, record);
    }
  }
}

void shard::notify_gap(std::string_view key) {
  scratch_.clear();
  append_gap(scratch_, key);
  for (const uint32_t slot : subscriptions_.subscribers_of(key)) {
    conn& c = conns_.at(slot);
    if (c.state != conn_state::websocket) {
      continue;
    }
    if (c.pending != nullptr && find_holder(c, key) != nullptr) {
      continue;  // its sub's answer is still to come, and reports where the key stands
    }
    metrics_.gap_notices.add();
    send_json(c, scratch_);
  }
}

void shard::forward(std::string_view tag, uint64_t seq, frame* msg, fanout_scope scope) {
  // Copies go only to shards with a subscription that can match.
  std::fill(peer_marks_.begin(), peer_marks_.end(), false);
  if (scope == fanout_scope::exact) {
    for (uint32_t peer : interest_.exact_subscribers(tag)) {
      peer_marks_[peer] = true;
    }
  } else {
    interest_.for_each_subscriber(tag, [this](uint32_t peer) { peer_marks_[peer] = true; });
  }
  const records::deliver record{seq, static_cast<uint8_t>(scope), tag, msg->bytes()};
  for (unsigned peer = 0; peer < node_.shard_count(); ++peer) {
    if (peer != id_ && peer_marks_[peer]) {
      post_record(*this, peer, record);
    }
  }
}

void shard::query(unsigned origin, records::conn_address from, uint32_t request,
                  std::string_view tag, const since_request& since) {
  uint32_t ticket;
  if (!free_query_waiters_.empty()) {
    ticket = free_query_waiters_.back();
    free_query_waiters_.pop_back();
  } else {
    ticket = static_cast<uint32_t>(query_waiters_.size());
    query_waiters_.emplace_back();
  }
  query_waiter& w = query_waiters_[ticket];
  w.origin = origin;
  w.from = from;
  w.request = request;
  w.tag.assign(tag);
  if (since.present && origin != id_ && any_backlogged_ && backlogged(origin)) [[unlikely]] {
    // The replay would wait behind a full backlog to the subscriber's shard.
    metrics_.shard_backlog_refusals.add();
    on_queried(ticket, false, tag_position{}, {});
    return;
  }
  broker_->query(tag, since, ticket);
}

void shard::on_queried(uint64_t ticket, bool ok, const tag_position& position,
                       std::span<const history_entry> missed) {
  // Copy what the answer needs: delivering it may re-enter the broker (not today, but a
  // completed subscription could publish nothing... keep the waiter stable anyway).
  const query_waiter w = query_waiters_[ticket];
  free_query_waiters_.push_back(static_cast<uint32_t>(ticket));
  if (w.origin == id_) {
    for (const history_entry& e : missed) {
      on_replay(w.from, w.request, w.tag, e.seq, e.msg);
    }
    on_query_result(w.from, w.request, w.tag, ok, position.top, position.epoch, position.gap);
    return;
  }
  for (const history_entry& e : missed) {
    post_record(*this, w.origin,
                records::replay{w.from, w.request, e.seq, w.tag, e.msg->bytes()});
  }
  post_record(*this, w.origin,
              records::queried{w.from, w.request, position.top, position.gap, ok, w.tag,
                               position.epoch});
}

// ---- subscriber side ----

void shard::fanout(std::string_view tag, uint64_t seq, frame* msg, fanout_scope scope) {
  const uint64_t stamp = ++fanout_stamp_;
  uint64_t delivered = 0;
  if (scope == fanout_scope::exact) {
    for (uint32_t slot : subscriptions_.exact_subscribers(tag)) {
      conn& c = conns_.at(slot);
      if (c.state == conn_state::websocket) {
        deliver_to(c, tag, seq, msg);
        ++delivered;
      }
    }
    metrics_.deliveries.add(delivered);
    return;
  }
  if (scope == fanout_scope::patterns) {
    // Exact subscribers get this message from the tag's own channel.
    for (uint32_t slot : subscriptions_.exact_subscribers(tag)) {
      conns_.at(slot).stamp = stamp;
    }
  }
  subscriptions_.for_each_subscriber(tag, [&](uint32_t slot) {
    conn& c = conns_.at(slot);
    // A connection whose subscriptions match several times gets the message once.
    if (c.stamp == stamp || c.state != conn_state::websocket) {
      return;
    }
    c.stamp = stamp;
    deliver_to(c, tag, seq, msg);
    ++delivered;
  });
  metrics_.deliveries.add(delivered);
}

void shard::deliver_to(conn& c, std::string_view tag, uint64_t seq, frame* msg) {
  if (c.pending != nullptr) [[unlikely]] {
    if (pending_sub::tag_entry* holder = find_holder(c, tag)) {
      msg->ref();
      holder->held.push_back({seq, msg});
      return;
    }
  }
  enqueue(c, msg);
}

void shard::on_publish_result(records::conn_address to, std::string_view id, bool ok,
                              uint64_t seq, std::string_view error) {
  conn* c = conns_.find(to.slot, to.generation);
  if (c == nullptr) {
    return;
  }
  --c->publishes_in_flight;
  if (c->state == conn_state::http && c->http_waiting) {
    finish_http_publish(*c, ok, seq, error);
    return;
  }
  if (c->state != conn_state::websocket) {
    return;
  }
  if (!ok) {
    send_err(*c, id, error.empty() ? "internal" : std::string(error).c_str(),
             "the broker did not accept the message");
  } else if (!id.empty()) {
    scratch_.clear();
    append_ok_pub(scratch_, id, seq);
    send_json(*c, scratch_);
  }
  if (c->draining) {
    close_when_answered(*c);
  }
}

pending_sub::tag_entry* shard::find_holder(conn& c, std::string_view tag) {
  for (pending_sub* p = c.pending; p != nullptr; p = p->next) {
    pending_sub::tag_entry* t = p->find(tag);
    if (t != nullptr && t->hold && !t->cancelled) {
      return t;
    }
  }
  return nullptr;
}

pending_sub* shard::find_request(conn& c, uint32_t request) {
  pending_sub* p = c.pending;
  while (p != nullptr && p->request != request) {
    p = p->next;
  }
  return p;
}

void shard::on_replay(records::conn_address to, uint32_t request, std::string_view tag,
                      uint64_t seq, frame* msg) {
  conn* c = conns_.find(to.slot, to.generation);
  pending_sub* p = c == nullptr ? nullptr : find_request(*c, request);
  pending_sub::tag_entry* t = p == nullptr ? nullptr : p->find(tag);
  if (t != nullptr && !t->cancelled) {
    msg->ref();
    t->replay.push_back({seq, msg});
  }
}

void shard::on_query_result(records::conn_address to, uint32_t request, std::string_view tag,
                            bool ok, uint64_t top, std::string_view epoch, bool gap) {
  conn* c = conns_.find(to.slot, to.generation);
  pending_sub* p = c == nullptr ? nullptr : find_request(*c, request);
  pending_sub::tag_entry* t = p == nullptr ? nullptr : p->find(tag);
  if (t == nullptr || t->answered) {
    return;
  }
  t->answered = true;
  t->ok = ok;
  t->top = top;
  t->epoch.assign(epoch);
  t->gap = gap;
  if (--p->waiting == 0) {
    complete_sub(*c, p);
  }
}

void shard::complete_sub(conn& c, pending_sub* p) {
  // Unlink first: deliveries below go straight to the queue.
  for (pending_sub** link = &c.pending; *link != nullptr; link = &(*link)->next) {
    if (*link == p) {
      *link = p->next;
      break;
    }
  }
  std::unique_ptr<pending_sub> owned(p);
  if (c.state != conn_state::websocket) {
    return;
  }
  // Draining: the 1001 follows this answer (and the replay) once nothing else is owed.
  struct close_after {
    shard& s;
    conn& c;
    ~close_after() {
      if (c.draining) {
        s.close_when_answered(c);
      }
    }
  } closing{*this, c};
  fit_replays(c, *p);
  bool failed = false;
  std::vector<sub_ack_entry> positions;
  for (const pending_sub::tag_entry& t : p->tags) {
    if (t.cancelled) {
      continue;
    }
    if (!t.ok) {
      failed = true;
      continue;
    }
    if (!t.pattern) {
      positions.push_back({t.tag, t.top, t.epoch, t.gap});
    }
  }
  if (failed) {
    // The broker could not say where a tag stands: no silent half-subscription. What this
    // request added ends; what the connection held before stays as it was (a refused
    // request changes nothing).
    std::vector<std::string_view> added;
    for (const pending_sub::tag_entry& t : p->tags) {
      if (!t.ok && !t.cancelled && t.added) {
        added.push_back(t.tag);
      }
    }
    remove_subscriptions_in(c, tag_set(added));
    send_err(c, p->id, "unavailable", "the broker did not answer for every tag");
  } else if (!p->id.empty()) {
    scratch_.clear();
    append_ok_sub(scratch_, p->id, positions);
    send_json(c, scratch_);
  }
  for (pending_sub::tag_entry& t : p->tags) {
    // A tag still subscribed gets its replay (if answered) and its held live messages.
    if (!t.cancelled && (t.ok || !t.added) && !release_entry(c, t)) {
      return;  // closed as a slow consumer
    }
  }
}

void shard::fit_replays(conn& c, pending_sub& p) {
  // Room for the ok first (about a tag name and two numbers per tag), then the replays in
  // order: what does not fit is dropped and the tag reported in `gaps`.
  const std::size_t limit = node_.cfg().max_outbound_bytes;
  std::size_t used = c.out.bytes() + 64;
  for (const pending_sub::tag_entry& t : p.tags) {
    used += t.tag.size() * 2 + 48;
  }
  for (pending_sub::tag_entry& t : p.tags) {
    if (t.cancelled || !t.ok) {
      continue;
    }
    std::size_t keep = 0;
    while (keep < t.replay.size() && used + t.replay[keep].msg->size() <= limit) {
      used += t.replay[keep].msg->size();
      ++keep;
    }
    if (keep < t.replay.size()) {
      for (std::size_t k = keep; k < t.replay.size(); ++k) {
        t.replay[k].msg->unref();
      }
      t.replay.resize(keep);
      t.gap = true;
      metrics_.replays_truncated.add();
    }
  }
}

bool shard::release_entry(conn& c, pending_sub::tag_entry& t) {
  uint64_t last = t.floor;
  if (t.ok) {
    for (const history_entry& e : t.replay) {
      if (e.seq > last) {
        if (c.state != conn_state::websocket || !enqueue(c, e.msg)) {
          return false;
        }
        last = e.seq;
      }
    }
  }
  // Held live messages at or below the reported top were published before the
  // subscription took effect (and the replay has them if they were asked for). Those above
  // go out now, or, if another request of this connection still waits for the tag, to that
  // request: they must not overtake its replay.
  const uint64_t floor = std::max(t.ok ? t.top : 0, last);
  pending_sub::tag_entry* next = find_holder(c, t.tag);
  for (const history_entry& e : t.held) {
    if (e.seq <= floor) {
      continue;
    }
    if (next != nullptr) {
      e.msg->ref();
      next->held.push_back(e);
      continue;
    }
    if (c.state != conn_state::websocket || !enqueue(c, e.msg)) {
      return false;
    }
    last = e.seq;
  }
  for (pending_sub* q = c.pending; q != nullptr; q = q->next) {
    if (pending_sub::tag_entry* waiting = q->find(t.tag)) {
      waiting->floor = std::max(waiting->floor, last);
    }
  }
  return true;
}

void shard::drop_pending(conn& c) {
  while (c.pending != nullptr) {
    pending_sub* p = c.pending;
    c.pending = p->next;
    delete p;
  }
}

void shard::add_subscription(conn& c, std::string_view tag) {
  subscriptions_.add(tag, c.slot);
  c.subs.emplace_back(tag);
  metrics_.subscriptions.add();
  auto it = local_keys_.find(tag);
  if (it == local_keys_.end()) {
    local_keys_.emplace(std::string(tag), 1);
    announce_interest(tag, true);
  } else {
    ++it->second;
  }
}

void shard::remove_subscription(conn& c, std::size_t index) {
  const std::string& tag = c.subs[index];
  subscriptions_.remove(tag, c.slot);
  auto it = local_keys_.find(tag);
  if (it != local_keys_.end() && --it->second == 0) {
    local_keys_.erase(it);
    announce_interest(tag, false);
  }
  c.subs[index] = std::move(c.subs.back());
  c.subs.pop_back();
  metrics_.subscriptions.sub();
}

void shard::remove_subscriptions_in(conn& c, const tag_set& tags) {
  // Highest index first: remove_subscription moves the last entry into the hole, and that
  // entry has been looked at already.
  for (std::size_t i = c.subs.size(); i-- > 0;) {
    if (tags.contains(c.subs[i])) {
      remove_subscription(c, i);
    }
  }
}

// ---- interest: which shards need which tags ----

void shard::announce_interest(std::string_view key, bool added) {
  // An exact tag matters only to its owner. A pattern may match tags owned anywhere, so
  // every shard learns it (and the pattern's own owner is the one that watches it).
  const records::interest record{added, key};
  const bool everyone = is_wildcard(key);
  const unsigned owner = owner_of(key);
  for (unsigned peer = 0; peer < node_.shard_count(); ++peer) {
    if (!everyone && peer != owner) {
      continue;
    }
    if (peer == id_) {
      apply_interest(id_, key, added);
      continue;
    }
    post_record(*this, peer, record);
  }
}

void shard::apply_interest(unsigned from, std::string_view key, bool added) {
  if (added) {
    interest_.add(key, from);
  } else {
    interest_.remove(key, from);
  }
  if (owner_of(key) != id_) {
    return;
  }
  // The owner watches a key while any shard (itself included) has a subscriber of it.
  auto it = watched_.find(key);
  if (added) {
    if (it == watched_.end()) {
      watched_.emplace(std::string(key), 1);
      broker_->watch(key);
    } else {
      ++it->second;
    }
  } else if (it != watched_.end() && --it->second == 0) {
    watched_.erase(it);
    broker_->unwatch(key);
  }
}

// ---- records from other shards ----

void shard::on_record(unsigned from, uint32_t type, std::string_view bytes) {
  switch (type) {
    case records::publish::type: {
      records::publish r;
      if (read(bytes, r)) {
        publish(from, r.from, r.id, r.tag, r.data);
      }
      return;
    }
    case records::published::type: {
      records::published r;
      if (read(bytes, r)) {
        on_publish_result(r.to, r.id, r.ok, r.seq, r.error);
      }
      return;
    }
    case records::deliver::type: {
      records::deliver r;
      if (read(bytes, r)) {
        // This shard's own copy: its reference count never crosses threads.
        frame* msg = frame::make_raw(r.frame);
        fanout(r.tag, r.seq, msg, static_cast<fanout_scope>(r.scope));
        msg->unref();
      }
      return;
    }
    case records::query::type: {
      records::query r;
      if (read(bytes, r)) {
        query(from, r.from, r.request, r.tag,
              since_request{r.has_since, r.since_seq, r.since_epoch, r.max_bytes});
      }
      return;
    }
    case records::interest::type: {
      records::interest r;
      if (read(bytes, r)) {
        apply_interest(from, r.key, r.added);
      }
      return;
    }
    case records::replay::type: {
      records::replay r;
      if (read(bytes, r)) {
        frame* msg = frame::make_raw(r.frame);
        on_replay(r.to, r.request, r.tag, r.seq, msg);
        msg->unref();
      }
      return;
    }
    case records::gap::type: {
      records::gap r;
      if (read(bytes, r)) {
        notify_gap(r.key);
      }
      return;
    }
    case records::queried::type: {
      records::queried r;
      if (read(bytes, r)) {
        on_query_result(r.to, r.request, r.tag, r.ok, r.top, r.epoch, r.gap);
      }
      return;
    }
    default:
      refuse_record(type, bytes.size());
      return;
  }
}

template <class R>
bool shard::read(std::string_view bytes, R& r) {
  if (read_record(bytes, r)) {
    return true;
  }
  refuse_record(R::type, bytes.size());
  return false;
}

void shard::refuse_record(uint32_t type, std::size_t size) {
  // Every record comes from this process's own shards: one that does not parse is a bug.
  WSA_LOG(error, "malformed record between shards dropped").kv("type", type).kv("bytes", size);
  WSA_ASSERT(false);
}

}  // namespace wsa
