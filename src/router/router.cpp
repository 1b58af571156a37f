// The router: requests, owner side, fan-out and records. See router.h; the merge of new
// subscriptions is in pending.cpp, interest bookkeeping in interest.cpp.
#include "router/router.h"

#include <algorithm>

#include "obs/log.h"
#include "router/known_positions.h"
#include "router/owner.h"
#include "router/records.h"
#include "router/tickets.h"
#include "pubsub/tag.h"
#include "util/clock.h"

namespace wsa {
namespace {

constexpr std::size_t max_epoch_bytes = 64;  // ours are 8: longer ones never match

}  // namespace

router::router(unsigned shard, unsigned shards, broker& b, mail_port& mail,
               router_client& client, shard_metrics& metrics)
    : shard_(shard),
      shards_(shards),
      broker_(b),
      mail_(mail),
      client_(client),
      metrics_(metrics),
      interest_(shard, shards),
      latest_(client, metrics),
      peer_marks_(shards, false) {}

router::~router() = default;

template <class R>
void router::send(unsigned to, const R& record) {
  post_record(mail_, to, record);
}

// ---- requests ----

bool router::publish(subscriber_id from, std::string_view request_id, std::string_view tag,
                     std::string_view data, std::string_view idem, std::string_view meta) {
  const unsigned owner = owner_of(tag, shards_);
  if (owner == shard_) {
    if (mail_.any_backlogged() && fanout_backlogged(tag)) [[unlikely]] {
      metrics_.shard_backlog_refusals.add();
      return false;
    }
    owner_publish(shard_, from, request_id, tag, data, idem, meta);
    return true;
  }
  if (mail_.any_backlogged() && mail_.backlogged(owner)) [[unlikely]] {
    metrics_.shard_backlog_refusals.add();
    return false;
  }
  send(owner, records::publish{from, tag, request_id, data, idem, meta});
  return true;
}

bool router::any_peer_backlogged() const {
  for (unsigned peer = 0; peer < shards_; ++peer) {
    if (peer != shard_ && mail_.backlogged(peer)) {
      return true;
    }
  }
  return false;
}

bool router::fanout_backlogged(std::string_view tag) const {
  // Copies of a message published here would wait behind a full backlog to a peer (the
  // embedded broker: with Redis, peers get their copies from Redis' own streams).
  return !broker_.pattern_streams() &&
         interest_.any_peer(tag, [this](uint32_t peer) { return mail_.backlogged(peer); });
}

router::sub_status router::subscribe(subscriber_id who, std::string_view request_id,
                                     std::span<const sub_item> items,
                                     uint64_t max_replay_bytes) {
  keys_scratch_.clear();
  for (const sub_item& item : items) {
    keys_scratch_.push_back(item.key);
  }
  const tag_set request_keys(keys_scratch_);  // repeats count once, found in linear time
  std::unique_ptr<pending_request> p = pending_.open(who, request_id);
  std::size_t replays = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (request_keys.repeated(i)) {
      continue;
    }
    const std::string_view key = items[i].key;
    const bool added = add(who, key, items[i].latest_ms);  // a held key takes the new mode
    if (items[i].presence && !is_wildcard(key)) {
      presence_.watch(who.slot, key);
    }
    if (items[i].latest_ms == 0 && latest_.has(who.slot)) {
      // Now every message of these tags: an older pending one must not follow them.
      latest_.discard(who.slot, key);
    }
    pending_entry entry;
    entry.key.assign(key);
    entry.added = added;
    if (is_wildcard(key) && items[i].pattern_since) {
      // Recovery on a pattern: its matching tags' live messages are held until every owner
      // has answered (and, with Redis, the pattern's stream flows).
      entry.pattern = true;
      entry.recovery = true;
      entry.hold = true;
      entry.has_since = true;
      entry.has_ts = items[i].since_has_ts;
      entry.since_ts = items[i].since_ts;
      entry.max_tags = items[i].max_tags;
      entry.parts = broker_.pattern_streams() ? 1 : shards_;
      for (const known_position& k : items[i].known) {
        append_known(entry.known, k);
      }
      ++replays;
      p->entries.push_back(std::move(entry));
      continue;
    }
    if (is_wildcard(key)) {
      // Patterns have no position to report or replay. Where they reach their subscribers
      // through each tag's stream, their messages flow at once; where they have a stream of
      // their own, the answer waits until it flows.
      if (!broker_.pattern_streams()) {
        continue;
      }
      entry.pattern = true;
      entry.hold = added;  // (never matches a concrete tag: only marks a new subscription)
      p->entries.push_back(std::move(entry));
      continue;
    }
    entry.has_since = items[i].has_since;
    entry.since_seq = items[i].since_seq;
    entry.since_epoch.assign(items[i].since_epoch.substr(0, max_epoch_bytes));
    // A new tag, or a replay, joins the live stream through the hold; a tag already held
    // without `since` keeps flowing untouched (only its position is reported).
    entry.hold = added || entry.has_since;
    replays += entry.has_since ? 1 : 0;
    p->entries.push_back(std::move(entry));
  }
  if (p->entries.empty()) {
    return sub_status::done;
  }
  p->recovers = replays > 0;
  // The replays of one request share the subscriber's outbound limit: no owner copies or
  // holds more than its share.
  const uint64_t share = max_replay_bytes / std::max<std::size_t>(replays, 1);
  // Keys whose owner has a full backlog from here are refused at once (unavailable).
  for (pending_entry& e : p->entries) {
    const unsigned owner = owner_of(e.key, shards_);
    const bool everywhere = e.recovery && !broker_.pattern_streams();
    const bool backlogged = mail_.any_backlogged() &&
                            (everywhere ? any_peer_backlogged()
                                        : owner != shard_ && mail_.backlogged(owner));
    if (backlogged) [[unlikely]] {
      metrics_.shard_backlog_refusals.add();
      e.answered = true;
      e.ok = false;
    }
    e.replay_bytes = share;
  }
  pending_request& request = pending_.start(std::move(p));
  if (request.waiting == 0) {
    complete(pending_.finish_early(request));
    return sub_status::answered;
  }
  local_.set_waiting(who.slot, true);
  // The embedded broker answers through the event queue, later in the turn, so the request
  // outlives this loop.
  for (const pending_entry& e : request.entries) {
    if (e.answered) {
      continue;
    }
    if (e.recovery) {
      query_pattern_owners(who, request.request, e, share);
      continue;
    }
    const since_request since{e.has_since, e.since_seq, e.since_epoch, share};
    const unsigned owner = owner_of(e.key, shards_);
    if (owner == shard_) {
      owner_query(shard_, who, request.request, e.key, since);
    } else {
      send(owner, records::query{who, request.request, since.present, since.seq,
                                 since.max_bytes, e.key, since.epoch});
    }
  }
  return sub_status::waiting;
}

void router::unsubscribe(subscriber_id who, std::string_view key) {
  latest_.discard(who.slot, key);
  remove(who.slot, key);
  pending_.cancel(who.slot, key);
}

void router::unsubscribe(subscriber_id who, const tag_set& keys) {
  // One pass over what the connection holds and one over what it waits for, each looking
  // the key up in the request's set: linear in both.
  remove_if(who.slot, [&](std::string_view key) { return keys.contains(key); });
  pending_.cancel_if(who.slot, [&](std::string_view key) { return keys.contains(key); });
}

void router::drop(uint32_t slot) {
  pending_.drop(slot);
  latest_.drop(slot);
  local_.set_waiting(slot, false);
  metrics_.subscriptions.sub(local_.count(slot));
  local_.remove_if(
      slot,
      [this, slot](std::string_view key) {
        presence_left(slot, key);
        return true;
      },
      [this](std::string_view key) { announce(key, false); });
  presence_.forget(slot);
}

bool router::add(subscriber_id who, std::string_view key, uint32_t latest_ms) {
  bool added = false;
  const bool first_on_shard = local_.add(who, key, added, latest_ms);
  if (added) {
    metrics_.subscriptions.add();
    presence_joined(who.slot, key);
  }
  if (first_on_shard) {
    announce(key, true);
  }
  return added;
}

void router::remove(uint32_t slot, std::string_view key) {
  const std::string copy(key);  // `key` may be a view of the entry being removed
  bool removed = false;
  const bool last_on_shard = local_.remove(slot, copy, removed);
  if (removed) {
    metrics_.subscriptions.sub();
    presence_left(slot, copy);
  }
  if (last_on_shard) {
    announce(copy, false);
  }
}

// ---- interest ----

void router::announce(std::string_view key, bool added) {
  // An exact tag matters only to its owner. A pattern may match tags owned anywhere, so
  // every shard learns it (and the pattern's own owner is the one that watches it).
  const bool everyone = is_wildcard(key);
  const unsigned owner = owner_of(key, shards_);
  for (unsigned peer = 0; peer < shards_; ++peer) {
    if (!everyone && peer != owner) {
      continue;
    }
    if (peer == shard_) {
      apply_interest(shard_, key, added);
    } else {
      send(peer, records::interest{added, key});
    }
  }
}

void router::apply_interest(unsigned from, std::string_view key, bool added) {
  switch (interest_.apply(from, key, added)) {
    case interest::watch_change::watch:
      broker_.watch(key);
      return;
    case interest::watch_change::unwatch:
      broker_.unwatch(key);
      return;
    case interest::watch_change::none:
      return;
  }
}

// ---- owner side ----

void router::owner_publish(unsigned origin, subscriber_id from, std::string_view request_id,
                           std::string_view tag, std::string_view data,
                           std::string_view idem, std::string_view meta) {
  const uint32_t ticket = acquire_ticket(publish_waiters_, free_publish_waiters_);
  publish_waiter& w = publish_waiters_[ticket];
  w.origin = origin;
  w.from = from;
  w.request_id.assign(request_id);
  broker_.publish(publish_request{tag, data, ticket, idem, meta});
}

void router::owner_query(unsigned origin, subscriber_id from, uint32_t request,
                         std::string_view key, const since_request& since) {
  if (since.present && origin != shard_ && mail_.any_backlogged() && mail_.backlogged(origin))
      [[unlikely]] {
    // The replay would wait behind a full backlog to the subscriber's shard.
    metrics_.shard_backlog_refusals.add();
    send(origin, records::queried{from, request, 0, false, false, key, {}});
    return;
  }
  const uint32_t ticket = acquire_ticket(query_waiters_, free_query_waiters_);
  query_waiter& w = query_waiters_[ticket];
  w.origin = origin;
  w.from = from;
  w.request = request;
  w.key.assign(key);
  broker_.query(key, since, ticket);
}

void router::query_pattern_owners(subscriber_id who, uint32_t request, const pending_entry& e,
                                  uint64_t max_bytes) {
  records::pattern_query q{who, request, e.has_ts, e.since_ts, e.max_tags, max_bytes, e.key,
                           e.known};
  const auto dispatch = [&](unsigned owner) {
    if (owner == shard_) {
      owner_query_pattern(shard_, q);
    } else {
      send(owner, q);
    }
  };
  if (broker_.pattern_streams()) {
    dispatch(owner_of(e.key, shards_));
    return;
  }
  // Each shard's broker knows only the tags it owns: it gets their known positions.
  // (Not known_scratch_: owner_query_pattern, called in the loop, reads into that.)
  std::vector<known_position> known;
  read_known(e.known, known);
  std::string part;
  for (unsigned owner = 0; owner < shards_; ++owner) {
    part.clear();
    for (const known_position& k : known) {
      if (owner_of(k.tag, shards_) == owner) {
        append_known(part, k);
      }
    }
    q.known = part;
    dispatch(owner);
  }
}

void router::owner_query_pattern(unsigned origin, const records::pattern_query& q) {
  if (origin != shard_ && mail_.any_backlogged() && mail_.backlogged(origin)) [[unlikely]] {
    metrics_.shard_backlog_refusals.add();
    send(origin, records::queried{q.from, q.request, 0, false, false, q.key, {}});
    return;
  }
  const uint32_t ticket = acquire_ticket(query_waiters_, free_query_waiters_);
  query_waiter& w = query_waiters_[ticket];
  w.origin = origin;
  w.from = q.from;
  w.request = q.request;
  w.key.assign(q.key);
  w.pattern = true;
  // The views of known_scratch_ point into q.known, which outlives the call.
  if (!read_known(q.known, known_scratch_)) {
    ++bad_records_;
    known_scratch_.clear();
  }
  broker_.query_pattern(pattern_since_request{q.key, q.has_ts, q.ts_ms, known_scratch_,
                                              q.max_tags, q.max_bytes},
                        ticket);
}

void router::on_broker_event(broker_event& e) {
  switch (e.what) {
    case broker_event::kind::published:
      on_published(e);
      return;
    case broker_event::kind::message:
      on_live(*e.msg, e.scope);
      return;
    case broker_event::kind::queried:
      on_queried(e);
      return;
    case broker_event::kind::stream_gap:
      on_stream_gap(e.key);
      return;
    case broker_event::kind::presence:
      on_presence(e);
      return;
    case broker_event::kind::presence_listed:
      on_presence_listed(e);
      return;
    case broker_event::kind::retained:
      client_.retained(*e.msg);
      return;
    case broker_event::kind::retained_reset:
      client_.retained_reset();
      return;
  }
}

void router::on_published(broker_event& e) {
  const auto ticket = static_cast<uint32_t>(e.ticket);
  // Taken out first: the client's reply may lead to more publishes (pipelined requests).
  const publish_waiter w = std::move(publish_waiters_[ticket]);
  free_publish_waiters_.push_back(ticket);
  const std::string_view error =
      e.ok || e.error == nullptr ? std::string_view{} : std::string_view(e.error);
  if (w.origin == shard_) {
    client_.published(w.from, w.request_id,
                      publish_outcome{e.ok, e.seq, e.ts_ms, error, e.dup});
  } else {
    send(w.origin,
         records::published{w.from, e.seq, e.ts_ms, e.ok, w.request_id, error, e.dup});
  }
}

void router::on_queried(broker_event& e) {
  const auto ticket = static_cast<uint32_t>(e.ticket);
  const query_waiter w = std::move(query_waiters_[ticket]);
  free_query_waiters_.push_back(ticket);
  const tag_position& p = e.position;
  if (w.pattern) {
    // Each tag's position first: its messages are kept only for the tags listed.
    for (const named_position& t : e.tags) {
      if (w.origin == shard_) {
        pending_.on_pattern_position(w.from, w.request, w.key, t.tag, t.position.top,
                                     t.position.epoch, t.position.gap);
      } else {
        send(w.origin, records::pattern_position{w.from, w.request, t.position.top,
                                                 t.position.gap, w.key, t.tag,
                                                 t.position.epoch});
      }
    }
    for (const message_ref& m : e.missed) {
      if (w.origin == shard_) {
        pending_.on_replay(w.from, w.request, w.key, *m);
      } else {
        send(w.origin, records::replay{w.from, w.request, m->seq(), m->ts_ms(), w.key,
                                       m->tag(), m->data()});
      }
    }
    // `top` carries the number of tags the owner considered (each gets an even share).
    if (w.origin == shard_) {
      on_answer(w.from, w.request, w.key, e.ok, p.top, {}, p.gap);
    } else {
      send(w.origin, records::queried{w.from, w.request, p.top, p.gap, e.ok, w.key, {}});
    }
    return;
  }
  if (w.origin == shard_) {
    for (const message_ref& m : e.missed) {
      pending_.on_replay(w.from, w.request, w.key, *m);
    }
    on_answer(w.from, w.request, w.key, e.ok, p.top, p.epoch, p.gap);
    return;
  }
  for (const message_ref& m : e.missed) {
    send(w.origin, records::replay{w.from, w.request, m->seq(), m->ts_ms(), w.key, m->tag(),
                                   m->data(), m->meta()});
  }
  send(w.origin, records::queried{w.from, w.request, p.top, p.gap, e.ok, w.key, p.epoch});
}

void router::on_live(message& m, delivery_scope scope) {
  fan_out(m, scope);
  // Copies go only to shards with a subscription that can match.
  interest_.mark_peers(m.tag(), scope, peer_marks_);
  const records::deliver record{m.seq(), m.ts_ms(), static_cast<uint8_t>(scope), m.tag(),
                                m.data(), m.meta()};
  for (unsigned peer = 0; peer < shards_; ++peer) {
    if (peer_marks_[peer]) {
      send(peer, record);
    }
  }
}

void router::on_stream_gap(std::string_view key) {
  // The owner of the key (shard 0 for patterns) tells every shard with subscribers, through
  // the mailboxes that carry the key's messages, so the notice keeps its place among them.
  notify_gap(key);
  for (const uint32_t peer : interest_.peers_of(key)) {
    if (peer != shard_) {
      send(peer, records::gap{key});
    }
  }
}

// ---- subscriber side ----

void router::fan_out(message& m, delivery_scope scope) {
  targets_.clear();
  latest_targets_.clear();
  const std::string_view tag = m.tag();
  // A subscription still waiting for its answer holds the message instead.
  local_.collect(tag, scope, targets_, latest_targets_,
                 [&](uint32_t slot) { return pending_.hold(slot, tag, m); });
  if (!targets_.empty()) {
    client_.deliver(m, targets_);
  }
  if (!latest_targets_.empty()) [[unlikely]] {
    const int64_t now = monotonic_ms();
    for (const subscriptions::latest_target& t : latest_targets_) {
      latest_.offer(t.who, m, t.interval_ms, now);
    }
  }
}

void router::notify_gap(std::string_view key) {
  std::vector<uint32_t> told;
  for (const uint32_t slot : local_.holders_of(key)) {
    // A subscription whose answer is still to come learns where the key stands from it.
    if (!pending_.holding(slot, key)) {
      told.push_back(slot);
    }
  }
  if (!told.empty()) {
    client_.stream_gap(key, told);
  }
}

void router::on_answer(subscriber_id to, uint32_t request, std::string_view key, bool ok,
                       uint64_t top, std::string_view epoch, bool gap) {
  std::unique_ptr<pending_request> done = pending_.on_answer(to, request, key, ok, top, epoch, gap);
  if (done != nullptr) {
    local_.set_waiting(to.slot, pending_.any(to.slot));
    complete(std::move(done));
  }
}

void router::complete(std::unique_ptr<pending_request> request) {
  plan_delivery(pending_, *request, client_.output_room(request->who), delivery_);
  for (const pending_entry& e : request->entries) {
    if (e.recovery && e.ok && !e.cancelled) {
      metrics_.pattern_recoveries.add();
      metrics_.pattern_recovery_tags.add(e.tags.size());
      metrics_.pattern_recoveries_over_bound.add(e.gap ? 1 : 0);
      metrics_.pattern_recovery_holds_cut.add(e.hold_cut ? 1 : 0);
    }
  }
  metrics_.replays_truncated.add(delivery_.truncated);
  for (const std::string_view key : delivery_.failed_new_keys) {
    remove(request->who.slot, key);
  }
  sub_outcome outcome;
  outcome.request_id = request->request_id;
  outcome.ok = !delivery_.failed;
  if (delivery_.failed) {
    outcome.error = "unavailable";
    outcome.reason = "the broker did not answer for every tag";
  }
  outcome.positions = delivery_.positions;
  outcome.messages = delivery_.messages;
  client_.subscribed(request->who, outcome);
}

// ---- records ----

template <class R>
bool router::read(std::string_view bytes, R& record) {
  if (read_record(bytes, record)) {
    return true;
  }
  // Every record comes from this process's own shards: one that does not parse is a bug.
  ++bad_records_;
  WSA_LOG(error, "malformed record between shards dropped")
      .kv("type", R::type)
      .kv("bytes", bytes.size());
  return false;
}

void router::on_record(unsigned from, uint32_t type, std::string_view bytes) {
  switch (type) {
    case records::publish::type: {
      records::publish r;
      if (!read(bytes, r)) {
        return;
      }
      if (mail_.any_backlogged() && fanout_backlogged(r.tag)) [[unlikely]] {
        // Its copies would wait behind a full backlog to a peer: refused, not queued.
        metrics_.shard_backlog_refusals.add();
        send(from, records::published{r.from, 0, 0, false, r.request_id, "unavailable"});
        return;
      }
      owner_publish(from, r.from, r.request_id, r.tag, r.data, r.idem, r.meta);
      return;
    }
    case records::published::type: {
      records::published r;
      if (read(bytes, r)) {
        client_.published(r.to, r.request_id,
                          publish_outcome{r.ok, r.seq, r.ts_ms, r.error, r.dup});
      }
      return;
    }
    case records::deliver::type: {
      records::deliver r;
      if (read(bytes, r) && r.scope <= static_cast<uint8_t>(delivery_scope::patterns)) {
        // This shard's own message: its reference count never crosses threads.
        message_ref m =
            message_ref::adopt(message::make(r.tag, r.seq, r.ts_ms, r.data, r.meta));
        fan_out(*m, static_cast<delivery_scope>(r.scope));
      }
      return;
    }
    case records::query::type: {
      records::query r;
      if (read(bytes, r)) {
        owner_query(from, r.from, r.request, r.key,
                    since_request{r.has_since, r.since_seq, r.since_epoch, r.max_bytes});
      }
      return;
    }
    case records::replay::type: {
      records::replay r;
      if (read(bytes, r)) {
        message_ref m =
            message_ref::adopt(message::make(r.tag, r.seq, r.ts_ms, r.data, r.meta));
        pending_.on_replay(r.to, r.request, r.key, *m);
      }
      return;
    }
    case records::queried::type: {
      records::queried r;
      if (read(bytes, r)) {
        on_answer(r.to, r.request, r.key, r.ok, r.top, r.epoch, r.gap);
      }
      return;
    }
    case records::pattern_query::type: {
      records::pattern_query r;
      if (read(bytes, r)) {
        owner_query_pattern(from, r);
      }
      return;
    }
    case records::pattern_position::type: {
      records::pattern_position r;
      if (read(bytes, r)) {
        pending_.on_pattern_position(r.to, r.request, r.key, r.tag, r.top, r.epoch, r.gap);
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
    case records::gap::type: {
      records::gap r;
      if (read(bytes, r)) {
        notify_gap(r.key);
      }
      return;
    }
    default:
      if (on_presence_record(from, type, bytes)) {
        return;
      }
      ++bad_records_;
      WSA_LOG(error, "record of unknown type between shards dropped").kv("type", type);
      return;
  }
}

// The presence records, sent and read in router_presence.cpp.
template void router::send(unsigned, const records::presence_change&);
template void router::send(unsigned, const records::presence_event&);
template void router::send(unsigned, const records::presence_query&);
template void router::send(unsigned, const records::presence_listed&);
template bool router::read(std::string_view, records::presence_change&);
template bool router::read(std::string_view, records::presence_event&);
template bool router::read(std::string_view, records::presence_query&);
template bool router::read(std::string_view, records::presence_listed&);

}  // namespace wsa
