// Protocol 1.1 presence over WebSocket v1 (docs/protocol.md "Presence"): the `presence`
// request, the identity a connection's joins carry, and the frames of the answers and
// events. The members live in the broker, reached through the router. See ws_v1.h.
#include "handlers/ws_v1.h"
#include "json/writer.h"
#include "ws/frame.h"
#include "pubsub/tag.h"

namespace wsa {

void ws_v1_handler::presence_identify(conn& c) {
  if (router_.presence_identified(c.slot)) {
    return;
  }
  const std::string name = conn_name(c.id);
  std::string member = presence_node_;
  member.append("|").append(name);
  // "node" beside "conn": connection names are unique only within their node.
  scratch_.assign(R"({"conn":)");
  append_json_string(scratch_, name);
  scratch_.append(R"(,"node":)");
  append_json_string(scratch_, node_id_);
  if (c.ws.perms != nullptr && !c.ws.perms->holder.empty()) {
    scratch_.append(",").append(c.ws.perms->holder);
  }
  scratch_.push_back('}');
  router_.presence_identify(c.slot, member, scratch_);
}

void ws_v1_handler::on_presence(conn& c, const command& cmd) {
  if (!is_valid_tag(cmd.tag)) {
    send_err(c, cmd.id, "bad_tag",
             is_valid_pattern(cmd.tag) ? "presence needs an exact tag, not a pattern"
                                       : "invalid tag");
    return;
  }
  if (c.ws.perms != nullptr && !c.ws.perms->may_subscribe(cmd.tag)) {
    send_err(c, cmd.id, "forbidden", "no subscribe permission for " + std::string(cmd.tag));
    return;
  }
  // The list fits in half the outbound limit, so that asking never makes a slow consumer.
  if (!router_.presence_query({c.slot, c.generation}, cmd.id, cmd.tag,
                              cfg_.presence_max_members, cfg_.max_outbound_bytes / 2)) {
    send_err(c, cmd.id, "unavailable", "the tag's shard is busy; retry");
  }
}

void ws_v1_handler::on_presence_listed(conn& c, std::string_view request_id,
                                       const presence_outcome& outcome) {
  if (!outcome.ok) {
    send_err(c, request_id, "unavailable", "the broker did not answer");
    return;
  }
  metrics_.presence_queries.add();
  if (outcome.count > cfg_.presence_max_members) {
    metrics_.presence_truncated.add();
  }
  if (request_id.empty()) {
    return;  // no id, no ok
  }
  scratch_.clear();
  append_ok_presence(scratch_, request_id, outcome.count, outcome.who_array);
  send_json(c, scratch_);
}

frame* ws_v1_handler::presence_event_frame(bool joined, std::string_view tag,
                                           std::string_view who) {
  scratch_.clear();
  append_presence_event(scratch_, joined, tag, who);
  return make_ws_frame(ws_opcode::text, scratch_);
}

void ws_v1_handler::send_presence_event(conn& c, frame* event) {
  metrics_.presence_events.add();
  host_.queue(c, event);
}

}  // namespace wsa
