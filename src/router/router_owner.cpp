// The router's owner side (router.h): publishes and queries of the keys this shard owns go
// to its broker; the broker's answers go back to the shard that asked, and its live
// messages to the local subscribers and to the shards whose interest they match.
#include "router/router.h"

#include "router/known_positions.h"
#include "router/owner.h"
#include "router/records.h"
#include "util/tickets.h"

namespace wsa {

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
  if (since.present && refused_behind_backlog(origin, from, request, key)) [[unlikely]] {
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

void router::owner_query_pattern(unsigned origin, const records::pattern_query& q) {
  if (refused_behind_backlog(origin, q.from, q.request, q.key)) [[unlikely]] {
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

bool router::refused_behind_backlog(unsigned origin, subscriber_id from, uint32_t request,
                                    std::string_view key) {
  if (origin == shard_ || !mail_.any_backlogged() || !mail_.backlogged(origin)) [[likely]] {
    return false;
  }
  // The replay would wait behind a full backlog to the subscriber's shard.
  metrics_.shard_backlog_refusals.add();
  send(origin, records::queried{from, request, 0, false, false, key, {}});
  return true;
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

}  // namespace wsa
