// The Redis broker's subscriber side: watch/unwatch (SUBSCRIBE, PSUBSCRIBE), live messages,
// filling holes in the live stream from the history (resync), and query answers held until
// the live stream has caught up with them. See redis_broker.h.
//
// Results go to the broker_events queue (never a call back into the router), so nothing
// here is re-entered while it runs.
#include <algorithm>
#include <utility>

#include "broker/redis_broker.h"
#include "broker/redis_meta.h"
#include "broker/redis_scripts.h"
#include "obs/log.h"
#include "pubsub/tag.h"
#include "redis/resp_writer.h"

namespace wsa {

// ---- watch / unwatch ----

const std::string& redis_broker::glob_for(std::string_view pattern) {
  redis_pattern_glob(pattern, glob_scratch_);
  if (globs_.find(glob_scratch_) != globs_.end()) {
    return glob_scratch_;
  }
  const bool catch_all_held = globs_.find(redis_catch_all_glob) != globs_.end();
  const std::size_t specific = globs_.size() - (catch_all_held ? 1 : 0);
  // One PSUBSCRIBE stays free for the catch-all.
  if (specific + 1 >= options_.max_patterns) {
    glob_scratch_.assign(redis_catch_all_glob);
  }
  return glob_scratch_;
}

void redis_broker::update_pattern_gauges() {
  metrics_.redis_pattern_subscriptions.set(globs_.size());
  auto all = globs_.find(redis_catch_all_glob);
  metrics_.redis_patterns_coalesced.set(all == globs_.end() ? 0 : all->second.patterns.size());
}

void redis_broker::watch(std::string_view tag) {
  if (is_wildcard(tag) && cluster_) {
    cluster_watch_pattern(tag);  // no sharded patterns: it pulls in its tags' channels
    return;
  }
  if (is_wildcard(tag)) {
    if (pattern_globs_.find(tag) != pattern_globs_.end()) {
      return;
    }
    const std::string& glob = glob_for(tag);
    pattern_globs_.emplace(std::string(tag), glob);
    auto [it, added] = globs_.try_emplace(glob);
    it->second.patterns.add(tag);
    update_pattern_gauges();
    if (added && subscriber_.up()) {
      psubscribe(it->first, it->second);
    }
    return;
  }
  auto [it, added] = exact_.try_emplace(std::string(tag));
  it->second.exact = true;  // (it may have been pulled in by patterns only)
  if (added && (cluster_ || subscriber_.up())) {
    subscribe(it->first, it->second);
  }
}

void redis_broker::unwatch(std::string_view tag) {
  if (is_wildcard(tag) && cluster_) {
    cluster_unwatch_pattern(tag);
    return;
  }
  if (is_wildcard(tag)) {
    auto p = pattern_globs_.find(tag);
    if (p == pattern_globs_.end()) {
      return;
    }
    auto g = globs_.find(p->second);
    if (g != globs_.end()) {
      g->second.patterns.remove(tag);
      if (g->second.patterns.empty()) {
        if (subscriber_.up()) {
          std::string& out = subscriber_.begin();
          resp_array(out, 2);
          resp_bulk(out, "PUNSUBSCRIBE");
          resp_bulk(out, g->first);
          subscriber_.commit({punsubscribe_cmd, 0, 0});
        }
        const std::vector<uint64_t> waiting = std::exchange(g->second.waiting, {});
        const std::vector<uint64_t> recoveries =
            std::exchange(g->second.waiting_recoveries, {});
        globs_.erase(g);
        answer_pattern_waiters(waiting);  // nobody needs the stream any more
        start_recoveries(recoveries);
      }
    }
    pattern_globs_.erase(p);
    update_pattern_gauges();
    return;
  }
  auto it = exact_.find(tag);
  if (it == exact_.end()) {
    return;
  }
  std::vector<deferred_query> deferred = std::move(it->second.deferred);
  if (it->second.pulled) {
    it->second.exact = false;  // patterns still need its stream
  } else {
    drop_held(it->second);
    exact_.erase(it);
    if (cluster_) {
      channel_of(tag);
      cluster_->unsubscribe(channel_scratch_);
    } else if (subscriber_.up()) {
      std::string& out = subscriber_.begin();
      resp_array(out, 2);
      resp_bulk(out, "UNSUBSCRIBE");
      resp_bulk_concat(out, {redis_key_prefix, tag, redis_channel_suffix});
      subscriber_.commit({unsubscribe_cmd, 0, 0});
    }
  }
  // Nobody needs the live stream any more: whoever still waits gets a plain answer.
  const std::string tag_copy(tag);
  release_parked(tag_copy, nullptr);
  for (const deferred_query& q : deferred) {
    send_query(tag_copy, q.since_present, q.since_seq, q.since_epoch, q.max_bytes, q.ticket,
               false, 0);
  }
}

void redis_broker::subscribe(std::string_view tag, exact_watch& w) {
  w.token = ++next_token_;
  w.confirmed = false;
  if (cluster_) {
    channel_of(tag);
    cluster_->subscribe(channel_scratch_);  // on_channel_up confirms
    return;
  }
  std::string& out = subscriber_.begin();
  resp_array(out, 2);
  resp_bulk(out, "SUBSCRIBE");
  resp_bulk_concat(out, {redis_key_prefix, tag, redis_channel_suffix});
  subscriber_.commit({subscribe_cmd, 0, w.token});
}

void redis_broker::query_pattern(std::string_view pattern, uint64_t ticket) {
  if (cluster_) {
    cluster_query_pattern(pattern, ticket, false);  // (redis_cluster_patterns.cpp)
    return;
  }
  auto p = pattern_globs_.find(pattern);
  auto g = p == pattern_globs_.end() ? globs_.end() : globs_.find(p->second);
  if (g == globs_.end() || g->second.confirmed) {
    answer(ticket, tag_position{}, {});  // flowing (or not watched: nothing to wait for)
    return;
  }
  if (!subscriber_.up()) {
    answer_failed(ticket);
    return;
  }
  g->second.waiting.push_back(ticket);
}

void redis_broker::answer_pattern_waiters(std::span<const uint64_t> tickets) {
  for (uint64_t ticket : tickets) {
    answer(ticket, tag_position{}, {});
  }
}

void redis_broker::psubscribe(std::string_view glob, glob_watch& g) {
  g.token = ++next_token_;
  g.confirmed = false;
  std::string& out = subscriber_.begin();
  resp_array(out, 2);
  resp_bulk(out, "PSUBSCRIBE");
  resp_bulk(out, glob);
  subscriber_.commit({psubscribe_cmd, 0, g.token});
}

void redis_broker::on_subscribe_reply(const link_request& request, resp_view reply) {
  if (reply.is_error() || !reply.is_array() || reply.size() != 3) {
    subscriber_.fail(std::string("SUBSCRIBE refused: ") + std::string(reply.str()));
    return;
  }
  if (request.kind == psubscribe_cmd) {
    auto g = globs_.find(reply[1].str());
    if (g == globs_.end() || g->second.token != request.token) {
      return;  // unwatched (or watched again) meanwhile
    }
    g->second.confirmed = true;
    // Live again after the link was down: what was published meanwhile is lost to the
    // pattern's subscribers (no history to read it from), and they are told.
    std::vector<std::string> lost;
    if (std::exchange(g->second.lost, false)) {
      g->second.patterns.for_each([&](std::string_view p) { lost.emplace_back(p); });
    }
    answer_pattern_waiters(std::exchange(g->second.waiting, {}));
    start_recoveries(std::exchange(g->second.waiting_recoveries, {}));
    for (const std::string& pattern : lost) {
      results_.stream_gap(pattern);
    }
    return;
  }
  std::string_view tag;
  if (!redis_channel_tag(reply[1].str(), tag)) {
    return;
  }
  auto it = exact_.find(tag);
  if (it == exact_.end() || it->second.token != request.token) {
    return;  // unwatched (or watched again) meanwhile
  }
  confirm_exact(tag, it->second);
}

void redis_broker::confirm_exact(std::string_view tag, exact_watch& w) {
  w.confirmed = true;
  const std::string tag_copy(tag);
  if (w.known) {
    // Messages may have been published while this subscription was down.
    start_resync(tag_copy, w);
  }
  std::vector<deferred_query> deferred = std::move(w.deferred);
  w.deferred.clear();
  for (const deferred_query& q : deferred) {
    send_query(tag_copy, q.since_present, q.since_seq, q.since_epoch, q.max_bytes, q.ticket,
               false, 0);
  }
}

// ---- live messages ----

void redis_broker::on_push(link&, resp_view push) {
  const bool pattern = push.size() == 4;
  std::string_view tag;
  uint64_t seq = 0;
  std::string_view epoch;
  int64_t ts_ms = 0;
  std::string_view data;
  const resp_view channel = push[pattern ? 2 : 1];
  if (!pattern && push.size() == 3 && channel.str() == redis_retained_channel) {
    on_retained_push(push[2].str());
    return;
  }
  if (channel.str().starts_with(redis_control_prefix)) {
    if (!pattern) {  // (a catch-all glob sees the control channels too: not for it)
      sessions_->on_control(push[2].str());
    }
    return;
  }
  const std::string_view payload = push[pattern ? 3 : 2].str();
  if (!payload.empty() && payload.front() == 'P') {
    // A presence event: only the tag's exact watch passes it on (patterns have none).
    if (!pattern && redis_channel_tag(channel.str(), tag)) {
      on_presence_live(tag, payload);
    }
    return;
  }
  if (!redis_channel_tag(channel.str(), tag) ||
      !redis_parse_live(payload, seq, epoch, ts_ms, data) ||
      !on_live_stored(tag, seq, epoch, ts_ms, data, pattern ? push[1].str() : "")) {
    note_error("malformed message from Redis", channel.str());
  }
}

bool redis_broker::on_live_stored(std::string_view tag, uint64_t seq, std::string_view epoch,
                                  int64_t ts_ms, std::string_view stored,
                                  std::string_view glob) {
  std::string_view data;
  std::string_view meta;
  if (!redis_split_stored(stored, data, meta)) {
    return false;
  }
  if (oversized(tag, data.size())) {
    // Not delivered on this node: for an exact watch the hole is found at the next message
    // and filled from the history without it (a gap, counted in live_gaps()).
    return true;
  }
  if (!glob.empty()) {
    on_pattern_live(glob, tag, seq, epoch, ts_ms, data, meta);
  } else {
    on_live(tag, seq, epoch, ts_ms, data, meta);
  }
  return true;
}

void redis_broker::on_live(std::string_view tag, uint64_t seq, std::string_view epoch,
                           int64_t ts_ms, std::string_view data, std::string_view meta) {
  auto it = exact_.find(tag);
  if (it == exact_.end() || !it->second.confirmed) {
    // Not watched (any more); or the tail of an earlier subscription of a tag watched
    // again, whose new subscribers all wait for an answer that covers it.
    return;
  }
  exact_watch& w = it->second;
  if (w.known && w.epoch == epoch && !w.resyncing && seq <= w.delivered) {
    return;  // already delivered from the history
  }
  message_ref msg = make_msg(tag, seq, ts_ms, data, meta);
  if (w.resyncing) {
    w.held.push_back({std::move(msg), std::string(epoch)});
    return;
  }
  if (w.known && w.epoch == epoch) {
    if (seq > w.delivered + 1) {
      // A hole (the subscription was down): fill it from the history first.
      w.held.push_back({std::move(msg), std::string(epoch)});
      start_resync(tag, w);
      return;
    }
  } else if (w.known && seq != 1) {
    // A new life of the tag whose beginning the live stream missed.
    w.held.push_back({std::move(msg), std::string(epoch)});
    start_resync(tag, w);
    return;
  }
  w.known = true;
  w.epoch.assign(epoch);
  w.delivered = seq;
  results_.message(std::move(msg), scope_of(w));
}

void redis_broker::on_pattern_live(std::string_view glob, std::string_view tag, uint64_t seq,
                                   std::string_view epoch, int64_t ts_ms,
                                   std::string_view data, std::string_view meta) {
  auto g = globs_.find(glob);
  if (g == globs_.end()) {
    return;
  }
  // The glob is a superset: pass the message on if a watched pattern really matches.
  bool matched = false;
  g->second.patterns.for_each_match(tag, [&matched](std::string_view) { matched = true; });
  if (!matched) {
    return;
  }
  if (seq == last_pattern_seq_ && tag == last_pattern_tag_ && epoch == last_pattern_epoch_) {
    return;  // the same publish through another glob (a new life of the tag differs in epoch)
  }
  last_pattern_seq_ = seq;
  last_pattern_tag_.assign(tag);
  last_pattern_epoch_.assign(epoch);
  results_.message(make_msg(tag, seq, ts_ms, data, meta), delivery_scope::patterns);
}

void redis_broker::drop_held(exact_watch& w) { w.held.clear(); }

void redis_broker::unconfirm(exact_watch& w) {
  w.confirmed = false;
  if (w.resyncing) {
    w.resyncing = false;
    w.resync_waiting = false;
    drop_held(w);
  }
}

// ---- resync: filling a hole in the live stream from the history ----

void redis_broker::start_resync(std::string_view tag, exact_watch& w) {
  w.resyncing = true;
  w.resync_token = ++next_token_;
  w.resync_waiting =
      !send_query(tag, true, w.delivered, w.epoch, UINT64_MAX, 0, true, w.resync_token);
  if (w.resync_waiting) {
    resync_queue_.emplace_back(tag);
  }
}

void redis_broker::on_resync_answer(const query_context& context, const tag_position& position,
                                    std::span<const message_ref> missed) {
  auto it = exact_.find(context.tag);
  if (it == exact_.end() || !it->second.resyncing ||
      it->second.resync_token != context.resync_token) {
    return;
  }
  exact_watch& w = it->second;
  if (w.known && w.epoch.empty()) {
    w.epoch.assign(position.epoch);  // pulled in by a pattern from an announced seq (cluster)
  } else if (position.epoch != w.epoch) {
    // The tag started a new life: first what the live stream had of the old one.
    for (held_message& h : w.held) {
      if (h.epoch == w.epoch && h.msg->seq() > w.delivered) {
        w.delivered = h.msg->seq();
        results_.message(h.msg, scope_of(w));
      }
    }
    ++live_gaps_;
    w.epoch.assign(position.epoch);
    w.delivered = 0;
  } else if (position.gap) {
    ++live_gaps_;
  }
  if (position.gap) {
    WSA_LOG(warn, "redis live stream has a gap the history cannot fill")
        .kv("tag", context.tag)
        .kv("after", w.delivered);
    report_gap(context.tag, w);  // where the subscribers learn of the hole
  }
  for (const message_ref& m : missed) {
    if (m->seq() > w.delivered) {
      w.delivered = m->seq();
      results_.message(m, scope_of(w));
    }
  }
  for (held_message& h : w.held) {
    if (h.epoch == w.epoch && h.msg->seq() > w.delivered) {
      w.delivered = h.msg->seq();
      results_.message(h.msg, scope_of(w));
    }
  }
  drop_held(w);
  w.resyncing = false;
  w.known = true;
  release_parked(context.tag, &w);
}

// ---- query answers for watched tags ----

void redis_broker::on_watched_answer(const query_context& context, exact_watch& w,
                                     const tag_position& position,
                                     std::span<const message_ref> missed) {
  if (!w.confirmed) {
    answer_failed(context.ticket);  // the subscription broke after the query left
    return;
  }
  if (position.top == 0 || (!w.resyncing && w.known && w.epoch == position.epoch &&
                            w.delivered >= position.top)) {
    if (!w.known) {
      w.known = true;
      w.epoch.assign(position.epoch);
      w.delivered = 0;
    }
    answer(context.ticket, position, missed);
    return;
  }
  // Live messages up to the top may still be on their way on the subscriber link: a PING
  // sent now is answered after all of them.
  parked_answer p;
  p.tag = context.tag;
  p.ticket = context.ticket;
  p.top = position.top;
  p.epoch.assign(position.epoch);
  p.gap = position.gap;
  p.barrier = ++barriers_sent_;
  bool sent = false;
  if (cluster_) {
    channel_of(context.tag);
    sent = cluster_->ping_channel(channel_scratch_, {barrier_cmd, 0, p.barrier});
  } else {
    sent = subscriber_.send({barrier_cmd, 0, p.barrier}, {"PING"});
  }
  if (!sent) {
    answer_failed(context.ticket);
    return;
  }
  p.missed.assign(missed.begin(), missed.end());
  parked_.push_back(std::move(p));
}

void redis_broker::on_barrier_reply(const link_request& request) {
  std::vector<std::string> tags;
  for (parked_answer& p : parked_) {
    // One subscriber link answers its PINGs in order; a cluster's links, one per node, do
    // not answer each other's.
    const bool passed = cluster_ ? p.barrier == request.token : p.barrier <= request.token;
    if (passed && !p.barrier_passed) {
      p.barrier_passed = true;
      tags.push_back(p.tag);
    }
  }
  for (const std::string& tag : tags) {
    auto it = exact_.find(tag);
    release_parked(tag, it == exact_.end() ? nullptr : &it->second);
  }
  if (!cluster_) {
    release_recoveries(request.token);
  }
}

void redis_broker::release_parked(std::string_view tag, exact_watch* w) {
  if (w != nullptr && w->resyncing) {
    return;  // held messages at or below the tops are still to be delivered
  }
  std::vector<parked_answer> ready;
  for (std::size_t i = 0; i < parked_.size();) {
    parked_answer& p = parked_[i];
    const bool caught_up = w == nullptr || p.barrier_passed ||
                           (w->known && w->epoch == p.epoch && w->delivered >= p.top);
    if (p.tag != tag || !caught_up) {
      ++i;
      continue;
    }
    if (w != nullptr) {
      // Everything up to the top has reached the live stream (or preceded the
      // subscription): that is where the stream stands.
      if (!w->known) {
        w->known = true;
        w->epoch = p.epoch;
        w->delivered = p.top;
      } else if (w->epoch == p.epoch && w->delivered < p.top) {
        w->delivered = p.top;
      }
    }
    ready.push_back(std::move(p));
    if (i + 1 != parked_.size()) {
      parked_[i] = std::move(parked_.back());
    }
    parked_.pop_back();
  }
  // Oldest first, as they were asked.
  std::sort(ready.begin(), ready.end(),
            [](const parked_answer& a, const parked_answer& b) { return a.barrier < b.barrier; });
  for (parked_answer& p : ready) {
    tag_position position;
    position.top = p.top;
    position.epoch = p.epoch;
    position.gap = p.gap;
    answer(p.ticket, position, p.missed);
  }
}

void redis_broker::fail_parked_and_deferred() {
  std::vector<parked_answer> parked = std::move(parked_);
  parked_.clear();
  std::vector<uint64_t> tickets;
  for (auto& [tag, w] : exact_) {
    for (const deferred_query& q : w.deferred) {
      tickets.push_back(q.ticket);
    }
    w.deferred.clear();
  }
  for (auto& [glob, g] : globs_) {
    tickets.insert(tickets.end(), g.waiting.begin(), g.waiting.end());
    g.waiting.clear();
    g.waiting_recoveries.clear();  // failed below with every other recovery
  }
  fail_recoveries();
  for (parked_answer& p : parked) {
    answer_failed(p.ticket);
  }
  for (uint64_t ticket : tickets) {
    answer_failed(ticket);
  }
}

}  // namespace wsa
