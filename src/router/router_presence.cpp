// The router's part of protocol 1.1 presence (docs/architecture.md "Presence"): members
// join when a local connection subscribes to an exact tag and leave when that subscription
// ends (unsub, a narrower token, close); the change goes to the tag's owner shard, whose
// broker keeps the members and reports each change as a `presence` event; the owner passes
// the event on to every shard interested in the tag, where the connections that asked for
// events of it get a `join` or `leave` (router_client::presence_event). A `presence`
// request is answered by the owner's broker. See router.h.
#include "router/owner.h"
#include "router/records.h"
#include "router/router.h"
#include "util/tickets.h"
#include "pubsub/tag.h"

namespace wsa {

// ---- members (subscriber side) ----

void router::presence_joined(uint32_t slot, std::string_view tag) {
  const presence_local::member* m = presence_.find(slot);
  if (m != nullptr && !is_wildcard(tag)) {
    presence_change(true, tag, m->key, m->who);
  }
}

void router::presence_left(uint32_t slot, std::string_view tag) {
  const presence_local::member* m = presence_.find(slot);
  if (m != nullptr && !is_wildcard(tag)) {
    presence_.unwatch(slot, tag);
    presence_change(false, tag, m->key, {});
  }
}

void router::presence_change(bool joined, std::string_view tag, std::string_view member,
                             std::string_view who) {
  const unsigned owner = owner_of(tag, shards_);
  if (owner != shard_) {
    // Always sent, like interest records: a lost leave would keep a member forever.
    send(owner, records::presence_change{joined, tag, member, who});
  } else if (joined) {
    broker_.presence_join(tag, member, who);
  } else {
    broker_.presence_leave(tag, member);
  }
}

// ---- events (owner side, then every interested shard) ----

void router::on_presence(const broker_event& e) {
  deliver_presence(e.ok, e.key, e.member, e.who);
  for (const uint32_t peer : interest_.peers_of(e.key)) {
    if (peer != shard_) {
      send(peer, records::presence_event{e.ok, e.key, e.member, e.who});
    }
  }
}

void router::deliver_presence(bool joined, std::string_view tag, std::string_view member,
                              std::string_view who) {
  presence_targets_.clear();
  for (const uint32_t slot : presence_.watchers(tag)) {
    const presence_local::member* m = presence_.find(slot);
    if (m != nullptr && m->key != member) {  // events are about other connections
      presence_targets_.push_back(slot);
    }
  }
  if (!presence_targets_.empty()) {
    client_.presence_event(joined, tag, who, presence_targets_);
  }
}

// ---- queries ----

bool router::presence_query(subscriber_id from, std::string_view request_id,
                            std::string_view tag, uint32_t limit, uint64_t max_bytes) {
  const unsigned owner = owner_of(tag, shards_);
  if (owner == shard_) {
    owner_presence_query(shard_, from, request_id, tag, limit, max_bytes);
    return true;
  }
  if (mail_.any_backlogged() && mail_.backlogged(owner)) [[unlikely]] {
    metrics_.shard_backlog_refusals.add();
    return false;
  }
  send(owner, records::presence_query{from, limit, max_bytes, tag, request_id});
  return true;
}

void router::owner_presence_query(unsigned origin, subscriber_id from,
                                  std::string_view request_id, std::string_view tag,
                                  uint32_t limit, uint64_t max_bytes) {
  const uint32_t ticket = acquire_ticket(presence_waiters_, free_presence_waiters_);
  presence_waiter& w = presence_waiters_[ticket];
  w.origin = origin;
  w.from = from;
  w.request_id.assign(request_id);
  broker_.presence_query(tag, limit, max_bytes, ticket);
}

void router::on_presence_listed(const broker_event& e) {
  const auto ticket = static_cast<uint32_t>(e.ticket);
  const presence_waiter w = std::move(presence_waiters_[ticket]);
  free_presence_waiters_.push_back(ticket);
  if (w.origin == shard_) {
    client_.presence_listed(w.from, w.request_id, presence_outcome{e.ok, e.seq, e.who});
  } else {
    send(w.origin, records::presence_listed{w.from, e.seq, e.ok, w.request_id, e.who});
  }
}

// ---- records ----

bool router::on_presence_record(unsigned from, uint32_t type, std::string_view bytes) {
  switch (type) {
    case records::presence_change::type: {
      records::presence_change r;
      if (read(bytes, r)) {
        if (r.joined) {
          broker_.presence_join(r.tag, r.member, r.who);
        } else {
          broker_.presence_leave(r.tag, r.member);
        }
      }
      return true;
    }
    case records::presence_event::type: {
      records::presence_event r;
      if (read(bytes, r)) {
        deliver_presence(r.joined, r.tag, r.member, r.who);
      }
      return true;
    }
    case records::presence_query::type: {
      records::presence_query r;
      if (read(bytes, r)) {
        owner_presence_query(from, r.from, r.request_id, r.tag, r.limit, r.max_bytes);
      }
      return true;
    }
    case records::presence_listed::type: {
      records::presence_listed r;
      if (read(bytes, r)) {
        client_.presence_listed(r.to, r.request_id, presence_outcome{r.ok, r.count, r.who});
      }
      return true;
    }
    default:
      return false;
  }
}

}  // namespace wsa
