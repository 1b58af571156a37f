// WebSocket connections on a shard: frames in through the pooled wslay session, protocol v1
// commands (docs/protocol.md "Client to server") dispatched, replies out.
#include <cstring>

#include "json/writer.h"
#include "pubsub/tag.h"
#include "pubsub/tag_set.h"
#include "server/node.h"
#include "server/shard.h"
#include "util/clock.h"

namespace wsa {
namespace {

constexpr std::size_t max_id_bytes = 128;

// Views of the tags a `since` names, in order (for a tag_set over them).
void since_tags(const command& cmd, std::vector<std::string_view>& out) {
  out.clear();
  for (const since_entry& s : cmd.since) {
    out.push_back(s.tag);
  }
}

}  // namespace

void shard::on_ws_bytes(conn& c, const char* data, std::size_t size) {
  if (c.ws == nullptr) {
    if (!session_pool_.empty()) {
      c.ws = session_pool_.back();
      session_pool_.pop_back();
    } else {
      c.ws = new ws_session(this, node_.cfg().max_message_bytes, json_padding());
    }
    c.ws->attach(&c);
  }
  feeding_ = c.ws;
  const ws_session::result result = c.ws->feed(data, size);
  feeding_ = nullptr;
  if (c.state != conn_state::websocket) {
    release_ws_session(c);  // a command ended the connection while wslay was running
    return;
  }
  switch (result) {
    case ws_session::result::ok:
    case ws_session::result::stopped:
      if (c.ws->idle()) {
        release_ws_session(c);  // at a message boundary: back to the pool
      }
      return;
    case ws_session::result::closing: {
      // wslay queued the close frame: the echo of the client's close, or its verdict on a
      // violation (1002 masking/opcode/RSV, 1007 UTF-8, 1009 size).
      const uint16_t code = c.ws->close_code_sent();
      if (code == 1002 || code == 1007 || code == 1009) {
        metrics_.protocol_errors.add();
      }
      close_ws(c, code, {}, false, /*queue_frame=*/false);
      return;
    }
    case ws_session::result::protocol_error:
      metrics_.protocol_errors.add();
      close_ws(c, 1002, "protocol error", false);
      return;
    case ws_session::result::too_big:
      metrics_.protocol_errors.add();
      close_ws(c, 1009, "message too big", false);
      return;
  }
}

void shard::on_ws_output(void* owner, const char* data, std::size_t size) {
  conn& c = *static_cast<conn*>(owner);
  if (c.state != conn_state::websocket) {
    return;  // nothing may follow our close frame
  }
  frame* f = frame::allocate(size);
  std::memcpy(f->data(), data, size);
  if (static_cast<ws_opcode>(data[0] & 0x0f) == ws_opcode::pong) {
    queue_pong(c, f);
  } else {
    c.out.push(f);  // the close reply: the last frame, at most 127 bytes
    mark_dirty(c);
  }
  f->unref();
}

void shard::queue_pong(conn& c, frame* pong) {
  if (c.pong_at != no_pong && c.out.replace_unsent(c.pong_at, pong)) {
    metrics_.pongs_replaced.add();
    return;
  }
  const uint64_t at = c.out.next_position();
  if (enqueue(c, pong)) {
    c.pong_at = at;
  }
}

bool shard::on_ws_message(void* owner, ws_opcode opcode, char* data, std::size_t size,
                          std::size_t capacity) {
  conn& c = *static_cast<conn*>(owner);
  if (c.state != conn_state::websocket) {
    return false;
  }
  metrics_.messages_in.add();
  if (opcode != ws_opcode::text) {
    send_err(c, {}, "bad_request", "binary frames are reserved; send JSON text frames");
    return c.state == conn_state::websocket;
  }
  parse_error error;
  if (!parser_.parse(data, size, capacity, command_, error)) {
    send_err(c, error.id.size() <= max_id_bytes ? error.id : std::string_view{}, error.code,
             error.reason);
    return c.state == conn_state::websocket;
  }
  if (command_.id.size() > max_id_bytes) {
    send_err(c, {}, "bad_request", "id longer than 128 bytes");
    return c.state == conn_state::websocket;
  }
  if (auth_required() && c.perms == nullptr && command_.op != op_kind::auth) {
    send_err(c, command_.id, "unauthorized", "send an auth frame with a token first");
    close_ws(c, 4001, "not authenticated", false);
    return false;
  }
  switch (command_.op) {
    case op_kind::auth:
      if (within_rate(c, c.auth_bucket, auth_rate_, metrics_.rate_limited_auths, "auth")) {
        on_auth(c, command_);
      }
      break;
    case op_kind::sub:
      if (within_rate(c, c.sub_bucket, sub_rate_, metrics_.rate_limited_subscribes, "sub")) {
        on_sub(c, command_);
      }
      break;
    case op_kind::unsub:
      if (within_rate(c, c.sub_bucket, sub_rate_, metrics_.rate_limited_subscribes, "unsub")) {
        on_unsub(c, command_);
      }
      break;
    case op_kind::pub:
      if (within_rate(c, c.pub_bucket, pub_rate_, metrics_.rate_limited_publishes, "pub")) {
        on_pub(c, command_);
      }
      break;
    case op_kind::ping:
      send_ok(c, command_.id);
      break;
  }
  return c.state == conn_state::websocket;
}

bool shard::within_rate(conn& c, token_bucket& bucket, const rate_limit& limit,
                        counter& refusals, std::string_view op) {
  if (bucket.take(limit, monotonic_ns())) [[likely]] {
    return true;
  }
  refusals.add();
  send_err(c, command_.id, "rate_limited",
           std::string("too many ").append(op).append(" frames; slow down and retry (see "
                                                      "wsagent serve --help)"));
  return false;
}

bool shard::within_tag_limit(conn& c, const command& cmd) {
  // Repeats are allowed (they count once), up to as many again as the limit itself.
  const uint32_t limit = node_.cfg().max_tags_per_connection;
  if (cmd.tags.size() <= 2 * std::size_t{limit} && cmd.since.size() <= 2 * std::size_t{limit}) {
    return true;
  }
  metrics_.tag_limit_refusals.add();
  send_err(c, cmd.id, "bad_request",
           "more tags in one request than a connection may hold (" + std::to_string(limit) +
               ")");
  return false;
}

std::size_t shard::pending_recoveries(const conn& c) const {
  std::size_t n = 0;
  for (const pending_sub* p = c.pending; p != nullptr; p = p->next) {
    n += p->recovers ? 1 : 0;
  }
  return n;
}

// ---- replies ----

void shard::send_json(conn& c, std::string_view json) {
  frame* f = frame::make(ws_opcode::text, json);
  enqueue(c, f);
  f->unref();
}

void shard::send_ok(conn& c, std::string_view id) {
  if (id.empty()) {
    return;  // fire-and-forget requests get no ok
  }
  scratch_.clear();
  append_ok(scratch_, id);
  send_json(c, scratch_);
}

void shard::send_err(conn& c, std::string_view id, const char* code, std::string_view reason) {
  metrics_.command_errors.add();
  scratch_.clear();
  append_err(scratch_, id, code, reason);
  send_json(c, scratch_);
}

// ---- commands ----

void shard::on_pub(conn& c, const command& cmd) {
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
  submit_publish(c, cmd.id, cmd.tag, cmd.data);
}

void shard::submit_publish(conn& c, std::string_view id, std::string_view tag,
                           std::string_view data) {
  ++c.publishes_in_flight;  // before: the answer may come at once (owner here)
  submit_publish(records::conn_address{c.slot, c.generation}, id, tag, data);
}

void shard::submit_publish(records::conn_address from, std::string_view id, std::string_view tag,
                           std::string_view data) {
  const unsigned owner = owner_of(tag);
  if (owner == id_) {
    publish(id_, from, id, tag, data);
    return;
  }
  if (any_backlogged_ && backlogged(owner)) [[unlikely]] {
    metrics_.shard_backlog_refusals.add();
    on_publish_result(from, id, false, 0, "unavailable");
    return;
  }
  post_record(*this, owner, records::publish{from, tag, id, data});
}

void shard::on_sub(conn& c, const command& cmd) {
  // Refuse the whole request before changing anything; the cheapest checks first, and no
  // work that grows faster than the request.
  if (!within_tag_limit(c, cmd)) {
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
    if (!request_tags.repeated(i) && !subscriptions_.contains(tag, c.slot)) {
      ++added;
    }
    recovers = recovers || (!is_wildcard(tag) && since_of.contains(tag));
  }
  if (!may_subscribe(c, cmd)) {
    return;
  }
  if (c.subs.size() + added > node_.cfg().max_tags_per_connection) {
    metrics_.tag_limit_refusals.add();
    send_err(c, cmd.id, "bad_request",
             "subscription limit reached (" +
                 std::to_string(node_.cfg().max_tags_per_connection) + " per connection)");
    return;
  }
  if (recovers && pending_recoveries(c) >= node_.cfg().max_pending_recoveries) {
    metrics_.recoveries_refused.add();
    send_err(c, cmd.id, "rate_limited",
             "too many sub requests with since waiting (" +
                 std::to_string(node_.cfg().max_pending_recoveries) +
                 " per connection); wait for their answers");
    return;
  }

  auto p = std::make_unique<pending_sub>();
  p->request = next_request_++;
  if (next_request_ == 0) {
    next_request_ = 1;  // 0 is never a request
  }
  p->id.assign(cmd.id);
  p->recovers = recovers;
  for (std::size_t i = 0; i < cmd.tags.size(); ++i) {
    const std::string_view tag = cmd.tags[i];
    if (request_tags.repeated(i)) {
      continue;
    }
    const bool held = subscriptions_.contains(tag, c.slot);
    if (!held) {
      add_subscription(c, tag);
    }
    pending_sub::tag_entry entry;
    entry.tag.assign(tag);
    entry.added = !held;
    if (is_wildcard(tag)) {
      // Patterns have no position to report or replay. With the embedded broker their
      // messages flow at once; with Redis the `ok` waits until the pattern's stream does.
      if (!shared_broker_) {
        continue;
      }
      entry.pattern = true;
      entry.hold = !held;  // (never matches a concrete tag: only marks a new subscription)
      p->tags.push_back(std::move(entry));
      continue;
    }
    if (const uint32_t s = since_of.find(tag); s != tag_set::npos) {
      entry.has_since = true;
      entry.since_seq = cmd.since[s].seq;
      // Our epochs are 8 characters: a longer one never matches, keep no more of it.
      entry.since_epoch.assign(cmd.since[s].epoch.substr(0, 64));
    }
    // A new tag, or a replay, joins the live stream through the hold; a tag already held
    // without `since` keeps flowing untouched (only its position is reported).
    entry.hold = !held || entry.has_since;
    p->tags.push_back(std::move(entry));
  }
  if (p->tags.empty()) {
    if (!p->id.empty()) {
      scratch_.clear();
      append_ok_sub(scratch_, p->id, {});
      send_json(c, scratch_);
    }
    return;
  }

  // Link at the end (answers complete requests in any order; each keeps its own tags).
  p->index_tags();
  pending_sub* raw = p.release();
  raw->waiting = static_cast<uint32_t>(raw->tags.size());
  pending_sub** link = &c.pending;
  while (*link != nullptr) {
    link = &(*link)->next;
  }
  *link = raw;

  const records::conn_address from{c.slot, c.generation};
  const uint32_t request = raw->request;
  const std::size_t count = raw->tags.size();
  // The replays of one request share the subscriber's outbound limit: no owner copies or
  // holds more than its share (what does not fit is reported as a gap).
  std::size_t replays = 0;
  for (const pending_sub::tag_entry& t : raw->tags) {
    replays += t.has_since ? 1 : 0;
  }
  const uint64_t share = node_.cfg().max_outbound_bytes / std::max<std::size_t>(replays, 1);
  for (std::size_t i = 0; i < count; ++i) {
    // The last local answer may complete and free the request: read it before asking.
    const pending_sub::tag_entry& t = raw->tags[i];
    since_request since;
    since.present = t.has_since;
    since.seq = t.since_seq;
    since.epoch = t.since_epoch;
    since.max_bytes = share;
    const unsigned owner = owner_of(t.tag);
    if (owner == id_) {
      query(id_, from, request, t.tag, since);
      continue;
    }
    if (any_backlogged_ && backlogged(owner)) [[unlikely]] {
      metrics_.shard_backlog_refusals.add();
      on_query_result(from, request, t.tag, false, 0, {}, false);  // the request: unavailable
      continue;
    }
    post_record(*this, owner, records::query{from, request, since.present, since.seq,
                                             since.max_bytes, t.tag, since.epoch});
  }
}

void shard::on_unsub(conn& c, const command& cmd) {
  if (!within_tag_limit(c, cmd)) {
    return;
  }
  for (std::string_view tag : cmd.tags) {
    if (!is_valid_pattern(tag)) {
      send_err(c, cmd.id, "bad_tag", "invalid tag or pattern");
      return;
    }
  }
  // One pass over what the connection holds and one over what it waits for, each looking
  // the tag up in the request's set: linear in both.
  const tag_set gone(cmd.tags);
  remove_subscriptions_in(c, gone);
  for (pending_sub* p = c.pending; p != nullptr; p = p->next) {
    for (pending_sub::tag_entry& t : p->tags) {
      if (!t.cancelled && gone.contains(t.tag)) {
        t.cancelled = true;
      }
    }
  }
  send_ok(c, cmd.id);
}

}  // namespace wsa
