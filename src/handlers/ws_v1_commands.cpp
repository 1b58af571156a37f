// Protocol v1 commands (docs/protocol.md "Client to server"): auth, sub, unsub, pub, ping.
// Each is checked here (tags, permissions, limits) and refused whole with an `err` before
// anything changes; what passes goes to the router. See ws_v1.h.
#include <string>

#include "handlers/pattern_since.h"
#include "handlers/token_gate.h"
#include "handlers/ws_v1.h"
#include "json/writer.h"
#include "pubsub/hash.h"
#include "pubsub/tag.h"
#include "pubsub/tag_set.h"
#include "util/clock.h"

namespace wsa {
namespace {

subscriber_id subscriber_of(const conn& c) { return {c.slot, c.generation}; }

// Views of the tags a `since` names, in order (for a tag_set over them).
void since_tags(const command& cmd, std::vector<std::string_view>& out) {
  out.clear();
  for (const since_entry& s : cmd.since) {
    out.push_back(s.tag);
  }
}

// The presence `who` members a token gives (protocol 1.1): its subject and its info.
void holder_of(const token_claims& claims, std::string& out) {
  out.assign(R"("sub":)");
  append_json_string(out, claims.sub);
  if (!claims.info.empty()) {
    out.append(R"(,"info":)").append(claims.info);
  }
}

}  // namespace

void ws_v1_handler::on_command(conn& c, const command& cmd) {
  if (cmd.id.size() > max_request_id_bytes) {
    send_err(c, {}, "bad_request", "id longer than 128 bytes");
    return;
  }
  if (gate_.required() && c.ws.perms == nullptr && cmd.op != op_kind::auth) {
    send_err(c, cmd.id, "unauthorized", "send an auth frame with a token first");
    close(c, 4001, "not authenticated", false);
    return;
  }
  switch (cmd.op) {
    case op_kind::auth:
      if (within_rate(c, cmd, c.ws.auth_bucket, auth_rate_, metrics_.rate_limited_auths,
                      "too many auth frames; slow down and retry (see wsagent serve --help)")) {
        on_auth(c, cmd);
      }
      return;
    case op_kind::sub:
      if (within_rate(c, cmd, c.ws.sub_bucket, sub_rate_, metrics_.rate_limited_subscribes,
                      "too many sub frames; slow down and retry (see wsagent serve --help)")) {
        on_sub(c, cmd);
      }
      return;
    case op_kind::unsub:
      if (within_rate(c, cmd, c.ws.sub_bucket, sub_rate_, metrics_.rate_limited_subscribes,
                      "too many unsub frames; slow down and retry (see wsagent serve --help)")) {
        on_unsub(c, cmd);
      }
      return;
    case op_kind::pub:
      if (within_rate(c, cmd, c.ws.pub_bucket, pub_rate_, metrics_.rate_limited_publishes,
                      "too many pub frames; slow down and retry (see wsagent serve --help)")) {
        on_pub(c, cmd);
      }
      return;
    case op_kind::ping:
      send_ok(c, cmd.id);
      return;
    case op_kind::presence:
      if (within_rate(c, cmd, c.ws.sub_bucket, sub_rate_, metrics_.rate_limited_subscribes,
                      "too many presence frames; slow down and retry (see wsagent serve --help)")) {
        on_presence(c, cmd);
      }
      return;
  }
}

bool ws_v1_handler::within_rate(conn& c, const command& cmd, token_bucket& bucket,
                                const rate_limit& limit, counter& refusals,
                                std::string_view refusal) {
  if (bucket.take(limit, monotonic_ns())) [[likely]] {
    return true;
  }
  refusals.add();
  send_err(c, cmd.id, "rate_limited", refusal);
  return false;
}

bool ws_v1_handler::within_tag_limit(conn& c, const command& cmd) {
  // Repeats are allowed (they count once), up to as many again as the limit itself.
  const uint32_t limit = cfg_.max_tags_per_connection;
  if (cmd.tags.size() <= 2 * std::size_t{limit} && cmd.since.size() <= 2 * std::size_t{limit}) {
    return true;
  }
  metrics_.tag_limit_refusals.add();
  send_err(c, cmd.id, "bad_request",
           "more tags in one request than a connection may hold (" + std::to_string(limit) +
               ")");
  return false;
}

// ---- auth ----

token_status ws_v1_handler::authenticate(conn& c, std::string_view token, std::string_view where) {
  const token_status status = gate_.verify(token, where);
  if (!status.ok()) {
    return status;
  }
  token_claims& claims = gate_.claims();
  if (c.ws.perms == nullptr) {
    c.ws.perms = std::make_unique<permissions>();
  }
  *c.ws.perms = std::move(claims.perm);
  holder_of(claims, c.ws.perms->holder);
  c.ws.token_exp = gate_.expiry_s();
  c.ws.token_hash = hash_bytes(token);
  // A refreshed token replaces the permissions: subscriptions it no longer allows end, and
  // so do the requests still waiting for such tags (they would be answered as if allowed).
  const permissions& perms = *c.ws.perms;
  router_.restrict(subscriber_of(c),
                   [&perms](std::string_view key) { return perms.may_subscribe(key); });
  return status;
}

void ws_v1_handler::on_auth(conn& c, const command& cmd) {
  if (!gate_.required()) {
    send_ok(c, cmd.id);  // auth off: every connection may already do everything
    return;
  }
  if (c.ws.perms != nullptr && hash_bytes(cmd.token) == c.ws.token_hash) {
    // The token in use, sent again (a client refreshing too eagerly, or on purpose to make
    // us verify signatures): its permissions and expiry are already the connection's. A
    // collision of the seeded hash could only keep the current rights, never grant others.
    metrics_.auth_reused.add();
    send_ok(c, cmd.id);
    return;
  }
  const token_status status = authenticate(c, cmd.token, "auth_frame");
  if (!status.ok()) {
    send_err(c, cmd.id, "unauthorized", token_error_text(status.error));
    close(c, 4001, "token invalid", false);
    return;
  }
  if (c.timed) {
    host_.clear_deadline(c);  // an open WebSocket's only deadline is the auth timeout
  }
  send_ok(c, cmd.id);
}

bool ws_v1_handler::may_publish(conn& c, const command& cmd) {
  if (c.ws.perms == nullptr || c.ws.perms->may_publish(cmd.tag)) {
    return true;
  }
  send_err(c, cmd.id, "forbidden", "no publish permission for " + std::string(cmd.tag));
  return false;
}

bool ws_v1_handler::may_subscribe(conn& c, const command& cmd) {
  if (c.ws.perms == nullptr) {
    return true;
  }
  // Each tag is judged on its own; one refused tag refuses the request, naming every
  // refused tag, so that a sub is all or nothing like every other refusal.
  std::string refused;
  for (std::string_view tag : cmd.tags) {
    if (!c.ws.perms->may_subscribe(tag)) {
      refused.append(refused.empty() ? "" : ", ").append(tag);
    }
  }
  if (refused.empty()) {
    return true;
  }
  send_err(c, cmd.id, "forbidden", "no subscribe permission for " + refused);
  return false;
}

// ---- pub ----

void ws_v1_handler::on_pub(conn& c, const command& cmd) {
  if (!is_valid_tag(cmd.tag)) {
    send_err(c, cmd.id, "bad_tag",
             is_valid_pattern(cmd.tag) ? "pub needs an exact tag, not a pattern"
                                       : "invalid tag");
    return;
  }
  if (!may_publish(c, cmd)) {
    return;
  }
  metrics_.publishes.add();
  ++c.ws.publishes_in_flight;  // before: a refusal is answered at once
  if (!router_.publish(subscriber_of(c), cmd.id, cmd.tag, cmd.data, cmd.idem)) {
    on_published(c, cmd.id, publish_outcome{false, 0, 0, "unavailable"});
  }
}

// ---- sub / unsub ----

void ws_v1_handler::on_sub(conn& c, const command& cmd) {
  // Refuse the whole request before changing anything; the cheapest checks first, and no
  // work that grows faster than the request.
  if (!within_tag_limit(c, cmd)) {
    return;
  }
  if (const char* why = check_pattern_since(cmd, cfg_.max_recovery_tags)) {
    send_err(c, cmd.id, "bad_request", why);
    return;
  }
  const tag_set request_tags(cmd.tags);
  since_tags(cmd, since_scratch_);
  const tag_set since_of = tag_set::last_wins(since_scratch_);
  std::size_t added = 0;
  bool recovers = false;
  for (std::size_t i = 0; i < cmd.tags.size(); ++i) {
    const std::string_view tag = cmd.tags[i];
    if (!is_valid_pattern(tag)) {
      send_err(c, cmd.id, "bad_tag", "invalid tag or pattern");
      return;
    }
    const uint32_t s = since_of.find(tag);
    const bool pattern_since = s != tag_set::npos && cmd.since[s].pattern_form;
    const char* refused = is_wildcard(tag) ? router_.pattern_refusal(tag, pattern_since) : nullptr;
    if (refused != nullptr) {
      send_err(c, cmd.id, "bad_request", refused);  // not served here: a retry would not help
      return;
    }
    if (!request_tags.repeated(i) && !router_.holds(c.slot, tag)) {
      ++added;
    }
    if (s != tag_set::npos) {
      recovers = recovers || !is_wildcard(tag) || cmd.since[s].pattern_form;
    }
  }
  if (!may_subscribe(c, cmd)) {
    return;
  }
  if (router_.subscription_count(c.slot) + added > cfg_.max_tags_per_connection) {
    metrics_.tag_limit_refusals.add();
    send_err(c, cmd.id, "bad_request",
             "subscription limit reached (" + std::to_string(cfg_.max_tags_per_connection) +
                 " per connection)");
    return;
  }
  if (recovers && router_.pending_recoveries(c.slot) >= cfg_.max_pending_recoveries) {
    metrics_.recoveries_refused.add();
    send_err(c, cmd.id, "rate_limited",
             "too many sub requests with since waiting (" +
                 std::to_string(cfg_.max_pending_recoveries) +
                 " per connection); wait for their answers");
    return;
  }
  presence_identify(c);
  sub_items_.clear();
  known_positions_of(cmd, known_scratch_);
  for (const std::string_view tag : cmd.tags) {
    sub_item item{tag};
    item.latest_ms = cmd.interval_ms;
    item.presence = cmd.presence;
    if (const uint32_t s = since_of.find(tag); s != tag_set::npos) {
      const since_entry& since = cmd.since[s];
      item.has_since = true;
      item.since_seq = since.seq;
      item.since_epoch = since.epoch;
      item.pattern_since = since.pattern_form;  // (checked: only for patterns)
      item.since_has_ts = since.has_ts;
      item.since_ts = since.ts_ms;
      item.known = std::span(known_scratch_).subspan(since.known_begin, since.known_count);
      item.max_tags = cfg_.max_recovery_tags;
    }
    sub_items_.push_back(item);
  }
  if (router_.subscribe(subscriber_of(c), cmd.id, sub_items_, cfg_.max_outbound_bytes) ==
      router::sub_status::done) {
    // Only patterns that flow at once: nothing to wait for, no position to report.
    on_subscribed(c, sub_outcome{cmd.id});
  }
}

void ws_v1_handler::on_unsub(conn& c, const command& cmd) {
  if (!within_tag_limit(c, cmd)) {
    return;
  }
  for (std::string_view tag : cmd.tags) {
    if (!is_valid_pattern(tag)) {
      send_err(c, cmd.id, "bad_tag", "invalid tag or pattern");
      return;
    }
  }
  router_.unsubscribe(subscriber_of(c), tag_set(cmd.tags));
  send_ok(c, cmd.id);
}

}  // namespace wsa
