// Protocol 1.1 presence with Redis (docs/architecture.md "Presence"): every node keeps its
// own members of the tags its shards own (presence_table) and mirrors them into the tag's
// hash with the presence script; the script publishes each change on the tag's channel,
// whence every node's owner shard passes it on (a `presence` event). A node refreshes its
// beat on every tag it has members of a few times per --presence-ttl; a node that stops
// (killed, cut off) is swept by the next script run on the tag after its beat passed, on
// any node, which publishes its members' leaves. See redis_broker.h, redis_scripts.h.
#include "broker/redis_broker.h"
#include "broker/redis_scripts.h"
#include "redis/resp_writer.h"
#include "util/clock.h"

namespace wsa {

bool redis_broker::send_presence(
    std::string_view tag, char op, const link_request& request,
    std::span<const std::pair<std::string_view, std::string_view>> members, uint32_t limit,
    uint64_t max_bytes) {
  std::string* command = commands_ready() ? begin_command(tag) : nullptr;
  if (command == nullptr) {
    return false;
  }
  std::string& out = *command;
  resp_array(out, 13 + 2 * members.size());
  resp_bulk(out, "EVALSHA");
  resp_bulk(out, presence_sha_);
  resp_bulk(out, "2");
  resp_bulk_concat(out, {redis_key_prefix, tag, redis_presence_suffix});
  resp_bulk_concat(out, {redis_key_prefix, tag, redis_beat_suffix});
  resp_bulk_concat(out, {redis_key_prefix, tag, redis_channel_suffix});
  resp_bulk(out, cluster_ ? "SPUBLISH" : "PUBLISH");
  resp_bulk(out, std::string_view(&op, 1));
  resp_bulk(out, options_.presence_node);
  // Alive for two thirds of the TTL, refreshed every third: a stopped node's members are
  // gone from answers within 2/3 TTL and their leaves published within the TTL.
  resp_bulk(out, uint64_t{options_.presence_ttl_ms} * 2 / 3);
  resp_bulk(out, std::max<uint64_t>(key_ttl_ms(), options_.presence_ttl_ms));
  resp_bulk(out, uint64_t{limit});
  resp_bulk(out, max_bytes);
  for (const auto& [member, who] : members) {
    resp_bulk(out, member);
    resp_bulk(out, who);
  }
  commit_command(request);
  return true;
}

void redis_broker::presence_join(std::string_view tag, std::string_view member,
                                 std::string_view who) {
  const bool first = presence_.members_of(tag) == nullptr;
  if (!presence_.join(tag, member, who)) {
    return;
  }
  metrics_.presence_members.add();
  if (first) {
    // This node's first member of the tag: a resync, which also removes what an earlier
    // life of this node left behind on it.
    resync_presence(tag);
    return;
  }
  const std::pair<std::string_view, std::string_view> joined{member, who};
  if (!send_presence(tag, 'j', {presence_cmd, 0, 0}, {&joined, 1})) {
    presence_resync_ = true;
  }
}

void redis_broker::presence_leave(std::string_view tag, std::string_view member) {
  std::string who;
  if (!presence_.leave(tag, member, who)) {
    return;
  }
  metrics_.presence_members.sub();
  const std::pair<std::string_view, std::string_view> left{member, {}};
  if (!send_presence(tag, 'l', {presence_cmd, 0, 0}, {&left, 1})) {
    // Without a route the leave waits for the resync, or for the beat of the tag to pass
    // when this node has no member of it left (it stops refreshing the tag).
    presence_resync_ = true;
  }
}

void redis_broker::presence_query(std::string_view tag, uint32_t limit, uint64_t max_bytes,
                                  uint64_t ticket) {
  if (backlogged(tag) ||
      !send_presence(tag, 'q', {presence_query_cmd, 0, ticket}, {}, limit, max_bytes)) {
    metrics_.broker_errors.add();
    results_.presence_failed(ticket, "unavailable");
    return;
  }
  metrics_.broker_pending.add();
}

void redis_broker::resync_presence(std::string_view tag) {
  presence_args_.clear();
  if (const string_map<std::string>* members = presence_.members_of(tag)) {
    for (const auto& [member, who] : *members) {
      presence_args_.emplace_back(member, who);
    }
  }
  if (!send_presence(tag, 's', {presence_cmd, 0, 0}, presence_args_)) {
    presence_resync_ = true;
  }
}

void redis_broker::poll_presence(int64_t now_ms) {
  if (presence_.size() == 0 || !commands_ready()) {
    return;
  }
  if (presence_resync_) {
    presence_resync_ = false;
    presence_.for_each_tag([this](std::string_view tag, const auto&) { resync_presence(tag); });
    next_presence_refresh_ms_ = now_ms + options_.presence_ttl_ms / 3;
    return;
  }
  if (now_ms < next_presence_refresh_ms_) {
    return;
  }
  next_presence_refresh_ms_ = now_ms + options_.presence_ttl_ms / 3;
  presence_.for_each_tag([this](std::string_view tag, const auto&) {
    if (!send_presence(tag, 'r', {presence_cmd, 0, 0}, {})) {
      presence_resync_ = true;
    }
  });
}

void redis_broker::on_presence_reply(const link_request& request, resp_view reply,
                                     std::string_view command) {
  if (reply.is_error() && retry_noscript(request, reply, command)) {
    return;
  }
  if (request.kind == presence_cmd) {
    if (reply.is_error()) {
      note_error("presence update failed", reply.str());
      presence_resync_ = true;
    } else if (reply.type() == resp_type::integer && reply.integer() == 1) {
      presence_resync_ = true;  // this node's beat had passed (a stall): write it all again
    }
    return;
  }
  metrics_.broker_pending.sub();
  if (!reply.is_array() || reply.size() < 1 || reply[0].type() != resp_type::integer) {
    note_error("presence query failed", reply.str());
    metrics_.broker_errors.add();
    results_.presence_failed(request.token, "unavailable");
    return;
  }
  count_round_trip(request);
  std::string who = "[";
  for (std::size_t i = 1; i < reply.size(); ++i) {
    who.append(i == 1 ? "" : ",").append(reply[i].str());
  }
  who.push_back(']');
  results_.presence_listed(request.token, static_cast<uint64_t>(reply[0].integer()), who);
}

void redis_broker::on_presence_failed(const link_request& request) {
  if (request.kind == presence_cmd) {
    presence_resync_ = true;  // it may or may not have run: the resync makes it sure
    return;
  }
  metrics_.broker_pending.sub();
  metrics_.broker_errors.add();
  results_.presence_failed(request.token, "unavailable");
}

bool redis_broker::on_presence_live(std::string_view tag, std::string_view payload) {
  if (payload.empty() || payload.front() != 'P') {
    return false;
  }
  bool joined = false;
  std::string_view member;
  std::string_view who;
  if (redis_parse_presence(payload, joined, member, who)) {
    results_.presence(tag, joined, member, who);
  } else {
    note_error("malformed presence event from Redis", tag);
  }
  return true;
}

}  // namespace wsa
