// The Redis broker on Redis Cluster (redis-cluster://): commands routed by the tag's slot
// through cluster_client (MOVED/ASK/TRYAGAIN/NOSCRIPT followed there), live messages on
// sharded channels (SSUBSCRIBE where the slot lives; the publish script SPUBLISHes), a
// channel's barrier PING on its own node's link. Patterns have no sharded form: they pull
// in their tags' channels (redis_cluster_patterns.cpp); MQTT retained messages live in the
// slot of {ret} (redis_retained.cpp). See redis_broker.h.
#include "broker/redis_broker.h"
#include "broker/redis_scripts.h"
#include "redis/slot.h"

namespace wsa {

std::string redis_broker::cluster_publish_script(std::string_view script) {
  // The same script, with the sharded publish: the channel shares the keys' slot.
  std::string lua(script);
  const std::string_view from = "redis.call('PUBLISH'";
  const std::size_t at = lua.find(from);
  if (at != std::string::npos) {
    lua.replace(at, from.size(), "redis.call('SPUBLISH'");
  }
  return lua;
}

void redis_broker::start_cluster(ring& r) {
  cluster_owner& owner = *this;
  cluster_options o = *options_.cluster;
  o.link.traffic = &traffic_;
  cluster_ = std::make_unique<cluster_client>(r, owner, std::move(o));
  publish_sha_ = cluster_->add_script(cluster_publish_script(redis_publish_script));
  publish_batch_sha_ = cluster_->add_script(cluster_publish_script(redis_publish_batch_script));
  query_sha_ = cluster_->add_script(redis_query_script);
  presence_sha_ = cluster_->add_script(redis_presence_script);
  session_sha_ = cluster_->add_script(redis_session_script);
  start_cluster_patterns();
  retain_sha_ = cluster_->add_script(redis_retain_script);
  cluster_->start();
  subscribe_retained();
}

std::string* redis_broker::begin_command(std::string_view tag) {
  flush_publishes();  // commands reach Redis in the order they were asked for
  if (cluster_) {
    return cluster_->begin(slot_of(tag));
  }
  return commands_.up() ? &commands_.begin() : nullptr;
}

void redis_broker::commit_command(const link_request& request) {
  if (cluster_) {
    cluster_->commit(request);
  } else {
    commands_.commit(request, true);
  }
}

void redis_broker::channel_of(std::string_view tag) {
  channel_scratch_.assign(redis_key_prefix);
  channel_scratch_.append(tag);
  channel_scratch_.append(redis_channel_suffix);
}

uint16_t redis_broker::slot_of(std::string_view tag) {
  channel_of(tag);  // the keys' slot: the three names share their hash tag
  return key_slot(channel_scratch_);
}

void redis_broker::on_cluster_reply(const link_request& request, resp_view reply) {
  if (on_cluster_pattern_reply(request, &reply)) {
    return;
  }
  switch (request.kind) {
    case publish_cmd:
      on_publish_reply(request, reply, {});
      return;
    case publish_batch_cmd:
      on_publish_batch_reply(request, reply, {});
      return;
    case query_cmd:
      on_query_reply(request, reply, {});
      return;
    case barrier_cmd:
      on_barrier_reply(request);
      return;
    case presence_cmd:
    case presence_query_cmd:
      on_presence_reply(request, reply, {});
      return;
    case session_cmd:
      sessions_->on_reply(request, reply);
      return;
    case retain_cmd:
      on_retain_reply(request, reply, {});
      return;
    case retained_load_cmd:
      on_retained_loaded(reply);
      return;
    default:
      return;
  }
}

void redis_broker::on_cluster_failed(const link_request& request) {
  if (on_cluster_pattern_reply(request, nullptr)) {
    return;
  }
  if (request.kind == barrier_cmd) {
    for (std::size_t i = 0; i < parked_.size(); ++i) {
      if (parked_[i].barrier == request.token) {
        const uint64_t ticket = parked_[i].ticket;
        parked_.erase(parked_.begin() + static_cast<std::ptrdiff_t>(i));
        answer_failed(ticket);
        return;
      }
    }
    return;
  }
  on_failed(commands_, request);
}

void redis_broker::on_shard_message(std::string_view channel, std::string_view payload) {
  if (channel.starts_with(redis_control_prefix)) {
    sessions_->on_control(payload);
    return;
  }
  if (channel == redis_cluster_retained_channel) {
    on_retained_push(payload);
    return;
  }
  if (on_announce_channel(channel, payload)) {
    return;
  }
  std::string_view tag;
  uint64_t seq = 0;
  std::string_view epoch;
  int64_t ts_ms = 0;
  std::string_view data;
  if (redis_channel_tag(channel, tag) && !payload.empty() && payload.front() == 'P') {
    auto it = exact_.find(tag);
    if (it == exact_.end() || it->second.exact) {  // (patterns have no presence)
      on_presence_live(tag, payload);
    }
    return;
  }
  if (!redis_channel_tag(channel, tag) || !redis_parse_live(payload, seq, epoch, ts_ms, data) ||
      !on_live_stored(tag, seq, epoch, ts_ms, data)) {
    note_error("malformed message from Redis", channel);
  }
}

void redis_broker::on_channel_up(std::string_view channel) {
  if (channel == redis_cluster_retained_channel) {
    begin_retained_load();
    return;
  }
  std::string_view tag;
  if (on_announce_channel_state(channel, true) || !redis_channel_tag(channel, tag)) {
    return;
  }
  auto it = exact_.find(tag);
  if (it != exact_.end() && !it->second.confirmed) {
    const bool pulled = it->second.pulled;
    confirm_exact(tag, it->second);
    if (pulled) {
      pulled_channel(tag, true);  // (`tag` views the channel's name)
      answer_ready_patterns();  // a pattern may wait for this channel
    }
  }
}

void redis_broker::on_channel_down(std::string_view channel) {
  if (channel == redis_cluster_retained_channel) {
    stop_retained_load();  // loaded again once it is back up
    return;
  }
  std::string_view tag;
  if (on_announce_channel_state(channel, false) || !redis_channel_tag(channel, tag)) {
    return;
  }
  auto it = exact_.find(tag);
  if (it == exact_.end()) {
    return;
  }
  // As after a subscriber link drop, for this tag alone: its answers that wait for the
  // live stream cannot be given safely; the stream is read from the history once it is back.
  exact_watch& w = it->second;
  if (w.pulled && w.confirmed) {
    pulled_channel(tag, false);  // its patterns' `sub`s wait for it again
  }
  unconfirm(w);
  std::vector<uint64_t> tickets;
  for (const deferred_query& q : w.deferred) {
    tickets.push_back(q.ticket);
  }
  w.deferred.clear();
  for (std::size_t i = 0; i < parked_.size();) {
    if (parked_[i].tag == tag) {
      tickets.push_back(parked_[i].ticket);
      parked_.erase(parked_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  for (uint64_t ticket : tickets) {
    answer_failed(ticket);
  }
}

void redis_broker::on_cluster_note(std::string_view what) { note_limited("redis cluster", what); }

}  // namespace wsa
