// The router: the requests of the local connections (publish, subscribe, unsubscribe, a
// closing connection) and the interest they announce to the keys' owners. See router.h;
// the owner side is in router_owner.cpp, what reaches the local connections in
// router_fanout.cpp, the records from other shards in router_records.cpp, the merge of new
// subscriptions in pending.cpp.
#include "router/router.h"

#include <algorithm>

#include "pubsub/tag.h"
#include "router/known_positions.h"
#include "router/owner.h"
#include "router/records.h"

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

}  // namespace wsa
