// The Redis broker's side of recovery on patterns (protocol 1.1; docs/architecture.md
// "Recovery on patterns"). On the pattern's owner shard, once the pattern's stream flows:
// 1. the candidates script reads the tag registry the publish script keeps (a sorted set
//    per first segment, scored by the last publish time; redis_scripts.h), so that the
//    tags published at or after `ts` are found without SCAN;
// 2. each candidate, and each tag the client named, is queried through the query script,
//    with the exact-tag rules for named tags and the `ts` rule for the others;
// 3. the answer waits for a PING on the subscriber link, so that every live message up to
//    each reported top has been passed on first (what the shard's merge relies on).
// A tag the client named that is up to date, or a candidate with nothing to replay, is not
// reported. The subscriber link dropping meanwhile fails the request (`unavailable`; the
// client retries): the stream it would join had a hole.
#include <algorithm>
#include <charconv>

#include "broker/known_tags.h"
#include "broker/recovery.h"
#include "broker/redis_broker.h"
#include "broker/redis_scripts.h"
#include "pubsub/tag.h"
#include "pubsub/tag_set.h"
#include "redis/resp_writer.h"

namespace wsa {

void redis_broker::query_pattern(const pattern_since_request& request, uint64_t ticket) {
  if (cluster_) {
    // Not served on a cluster (pattern_refusal tells WebSocket clients): answered once the
    // pattern flows, with the pattern's gap, so that nothing missed is silently skipped.
    cluster_query_pattern(request.pattern, ticket, true);
    return;
  }
  if (!commands_ready() || backlogged(request.pattern) || !subscriber_.up()) {
    answer_failed(ticket);
    return;
  }
  pattern_recovery& r = recoveries_.emplace_back();
  r.id = ++next_recovery_;
  r.ticket = ticket;
  r.pattern.assign(request.pattern);
  r.has_ts = request.has_ts;
  r.ts_ms = request.ts_ms;
  r.max_tags = request.max_tags;
  r.max_bytes = request.max_bytes;
  // Each named tag once (the last value counts), as the embedded broker counts them.
  const known_tags named(request.known);
  for (std::size_t i = 0; i < request.known.size(); ++i) {
    const known_position& k = request.known[i];
    if (named.repeated(i) || !pattern_matches(request.pattern, k.tag)) {
      continue;
    }
    recovered_tag& t = r.tags.emplace_back();
    t.tag.assign(k.tag);
    t.known = true;
    t.since_seq = k.seq;
    t.since_epoch.assign(k.epoch);
  }
  metrics_.broker_pending.add();
  auto p = pattern_globs_.find(request.pattern);
  auto g = p == pattern_globs_.end() ? globs_.end() : globs_.find(p->second);
  if (g != globs_.end() && !g->second.confirmed) {
    g->second.waiting_recoveries.push_back(r.id);  // started once the stream flows
    return;
  }
  start_recovery(r);
}

redis_broker::pattern_recovery* redis_broker::find_recovery(uint64_t id) {
  for (pattern_recovery& r : recoveries_) {
    if (r.id == id) {
      return &r;
    }
  }
  return nullptr;
}

void redis_broker::start_recoveries(std::span<const uint64_t> ids) {
  for (const uint64_t id : ids) {
    if (pattern_recovery* r = find_recovery(id)) {
      start_recovery(*r);
    }
  }
}

void redis_broker::start_recovery(pattern_recovery& r) {
  if (!commands_ready()) {
    finish_recovery(r.id, true);
    return;
  }
  r.started = true;
  r.subscriber_links = subscriber_.reconnects();
  std::string& out = commands_.begin();
  resp_array(out, 10);
  resp_bulk(out, "EVALSHA");
  resp_bulk(out, candidates_sha_);
  resp_bulk(out, "0");
  resp_bulk(out, redis_registry_prefix);
  resp_bulk(out, r.pattern);
  resp_bulk(out, r.has_ts ? "1" : "0");
  resp_bulk(out, r.ts_ms);
  // Named tags may be up to date: room for them beyond the bound, which is applied once
  // each tag's answer says whether it has something to replay.
  resp_bulk(out, uint64_t{r.max_tags} + r.tags.size());
  resp_bulk(out, registry_cap());
  resp_bulk(out, 4 * registry_cap());
  commands_.commit({candidates_cmd, 0, r.id}, true);
}

void redis_broker::on_candidates_reply(const link_request& request, resp_view reply,
                                       std::string_view command) {
  if (reply.is_error() && retry_noscript(request, reply, command)) {
    return;
  }
  pattern_recovery* r = find_recovery(request.token);
  if (r == nullptr) {
    return;
  }
  if (!reply.is_array() || reply.size() < 1 || reply[0].type() != resp_type::integer) {
    note_error("pattern recovery failed", reply.str());
    finish_recovery(r->id, true);
    return;
  }
  r->over = reply[0].integer() != 0;
  // `named` views the tags already listed: no reallocation below may move them.
  r->tags.reserve(r->tags.size() + reply.size());
  std::vector<std::string_view> named;
  for (const recovered_tag& t : r->tags) {
    named.push_back(t.tag);
  }
  const tag_set known = tag_set::last_wins(named);
  for (std::size_t i = 1; i < reply.size(); ++i) {
    const std::string_view tag = reply[i].str();
    if (is_valid_tag(tag) && !known.contains(tag)) {
      r->tags.emplace_back().tag.assign(tag);
    }
  }
  if (r->tags.empty()) {
    finish_recovery(r->id, false);
    return;
  }
  // The replays share the subscriber's limit evenly: each tag considered (named, or a
  // candidate) gets its share, as with the embedded broker; the answer's `top` carries
  // their count (the router cuts each tag to it). Replies come in later turns: `r` stays put.
  const uint64_t share = r->max_bytes / r->tags.size();
  r->waiting = static_cast<uint32_t>(r->tags.size());
  for (uint32_t i = 0; i < r->tags.size(); ++i) {
    const recovered_tag& t = r->tags[i];
    const recovery_ref ref{r->id, i, !t.known, r->ts_ms};
    if (!send_query(t.tag, true, t.since_seq, t.since_epoch, share, r->ticket, false, 0, ref)) {
      r->failed = true;
      --r->waiting;
    }
  }
  if (r->waiting == 0) {
    finish_recovery(r->id, true);
  }
}

void redis_broker::on_recovery_reply(const query_context& context, tag_position position,
                                     std::span<const message_ref> missed, bool restart,
                                     bool incomplete) {
  pattern_recovery* r = find_recovery(context.recovery.id);
  if (r == nullptr) {
    return;
  }
  recovered_tag& t = r->tags[context.recovery.tag];
  if (t.known) {
    const recovery_plan plan{restart ? 0 : t.since_seq, restart};
    position.gap =
        incomplete || recovery_gap(plan, position.top, missed.empty() ? 0 : missed.front()->seq());
  } else {
    position.gap = incomplete && position.top > 0;  // the query script's `ts` rule
  }
  t.include = !missed.empty() || position.gap;
  t.position = std::move(position);
  t.missed.assign(missed.begin(), missed.end());
  if (--r->waiting == 0) {
    recovery_queried(*r);
  }
}

void redis_broker::recovery_failed_query(const query_context& context) {
  pattern_recovery* r = find_recovery(context.recovery.id);
  if (r == nullptr) {
    return;
  }
  r->failed = true;
  if (--r->waiting == 0) {
    finish_recovery(r->id, true);
  }
}

void redis_broker::recovery_queried(pattern_recovery& r) {
  if (r.failed) {
    finish_recovery(r.id, true);
    return;
  }
  uint32_t kept = 0;
  for (recovered_tag& t : r.tags) {
    if (t.include && kept == r.max_tags) {
      t.include = false;  // past --max-recovery-tags: the pattern's gap
      r.over = true;
    }
    kept += t.include ? 1 : 0;
  }
  // Live messages up to each top may still be on their way: a PING sent now on the
  // subscriber link is answered after all of them.
  r.barrier = ++barriers_sent_;
  if (!subscriber_.send({barrier_cmd, 0, r.barrier}, {"PING"})) {
    finish_recovery(r.id, true);
  }
}

void redis_broker::release_recoveries(uint64_t barrier) {
  std::vector<uint64_t> done;
  for (const pattern_recovery& r : recoveries_) {
    if (r.barrier != 0 && r.barrier <= barrier) {
      done.push_back(r.id);
    }
  }
  for (const uint64_t id : done) {
    finish_recovery(id, false);
  }
}

void redis_broker::finish_recovery(uint64_t id, bool failed) {
  auto it = std::find_if(recoveries_.begin(), recoveries_.end(),
                         [id](const pattern_recovery& r) { return r.id == id; });
  if (it == recoveries_.end()) {
    return;
  }
  pattern_recovery r = std::move(*it);
  recoveries_.erase(it);
  metrics_.broker_pending.sub();
  if (failed || r.failed || (r.started && subscriber_.reconnects() != r.subscriber_links)) {
    answer_failed(r.ticket);
    return;
  }
  broker_event& e = results_.queried(r.ticket, r.tags.size(), {}, r.over);
  for (recovered_tag& t : r.tags) {
    if (!t.include) {
      continue;
    }
    e.tags.push_back({std::move(t.tag), std::move(t.position)});
    e.missed.insert(e.missed.end(), t.missed.begin(), t.missed.end());
  }
}

void redis_broker::fail_recoveries() {
  // The subscriber link dropped: no recovery can join its stream without a hole. Those
  // waiting for Redis fail when their answers come (`failed`); the others now.
  std::vector<uint64_t> now;
  for (pattern_recovery& r : recoveries_) {
    r.failed = true;
    if (!r.started || r.barrier != 0) {
      now.push_back(r.id);
    }
  }
  for (const uint64_t id : now) {
    finish_recovery(id, true);
  }
}

}  // namespace wsa
