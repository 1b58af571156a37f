// WebSocket connections on a shard: frames in through the pooled wslay session, protocol v1
// commands (docs/protocol.md "Client to server") dispatched, replies out.
#include <cstring>

#include "json/writer.h"
#include "pubsub/tag.h"
#include "server/node.h"
#include "server/shard.h"
#include "util/clock.h"

namespace wsa {
namespace {

constexpr std::size_t max_id_bytes = 128;

bool holds(const conn& c, std::string_view tag) {
  for (const std::string& held : c.subs) {
    if (held == tag) {
      return true;
    }
  }
  return false;
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
      on_auth(c, command_);
      break;
    case op_kind::sub:
      on_sub(c, command_);
      break;
    case op_kind::unsub:
      on_unsub(c, command_);
      break;
    case op_kind::pub:
      on_pub(c, command_);
      break;
    case op_kind::ping:
      send_ok(c, command_.id);
      break;
  }
  return c.state == conn_state::websocket;
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
  post_record(*this, owner, records::publish{from, tag, id, data});
}

void shard::on_sub(conn& c, const command& cmd) {
  // Refuse the whole request before changing anything.
  std::size_t added = 0;
  for (std::size_t i = 0; i < cmd.tags.size(); ++i) {
    const std::string_view tag = cmd.tags[i];
    if (!is_valid_pattern(tag)) {
      send_err(c, cmd.id, "bad_tag", "invalid tag or pattern");
      return;
    }
    bool repeated = false;
    for (std::size_t j = 0; j < i; ++j) {
      repeated = repeated || cmd.tags[j] == tag;
    }
    if (!repeated && !holds(c, tag)) {
      ++added;
    }
  }
  if (!may_subscribe(c, cmd)) {
    return;
  }
  if (c.subs.size() + added > node_.cfg().max_tags_per_connection) {
    send_err(c, cmd.id, "bad_request",
             "subscription limit reached (" +
                 std::to_string(node_.cfg().max_tags_per_connection) + " per connection)");
    return;
  }

  auto p = std::make_unique<pending_sub>();
  p->request = next_request_++;
  if (next_request_ == 0) {
    next_request_ = 1;  // 0 means "any request" in find_pending
  }
  p->id.assign(cmd.id);
  for (std::size_t i = 0; i < cmd.tags.size(); ++i) {
    const std::string_view tag = cmd.tags[i];
    bool repeated = false;
    for (std::size_t j = 0; j < i; ++j) {
      repeated = repeated || cmd.tags[j] == tag;
    }
    if (repeated) {
      continue;
    }
    const bool held = holds(c, tag);
    if (!held) {
      add_subscription(c, tag);
    }
    pending_sub::tag_entry entry;
    entry.tag.assign(tag);
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
    for (const since_entry& s : cmd.since) {
      if (s.tag == tag) {
        entry.has_since = true;
        entry.since_seq = s.seq;
        entry.since_epoch.assign(s.epoch.substr(0, 64));  // ours are 8: longer never match
      }
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
  for (std::size_t i = 0; i < count; ++i) {
    // The last local answer may complete and free the request: read it before asking.
    const pending_sub::tag_entry& t = raw->tags[i];
    since_request since;
    since.present = t.has_since;
    since.seq = t.since_seq;
    since.epoch = t.since_epoch;
    const unsigned owner = owner_of(t.tag);
    if (owner == id_) {
      query(id_, from, request, t.tag, since);
      continue;
    }
    post_record(*this, owner,
                records::query{from, request, since.present, since.seq, t.tag, since.epoch});
  }
}

void shard::on_unsub(conn& c, const command& cmd) {
  for (std::string_view tag : cmd.tags) {
    if (!is_valid_pattern(tag)) {
      send_err(c, cmd.id, "bad_tag", "invalid tag or pattern");
      return;
    }
  }
  for (std::string_view tag : cmd.tags) {
    for (std::size_t i = 0; i < c.subs.size(); ++i) {
      if (c.subs[i] == tag) {
        remove_subscription(c, i);
        break;
      }
    }
    for (pending_sub* p = c.pending; p != nullptr; p = p->next) {
      for (pending_sub::tag_entry& t : p->tags) {
        if (t.tag == tag && !t.cancelled) {
          t.cancelled = true;
        }
      }
    }
  }
  send_ok(c, cmd.id);
}

}  // namespace wsa
