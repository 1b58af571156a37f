// The Redis broker's command side: links, scripts, publish and query. The subscriber side
// (watch, live messages, resync, held answers) is in redis_watch.cpp. See redis_broker.h.
#include "broker/redis_broker.h"

#include <random>

#include "broker/redis_meta.h"
#include "broker/redis_scripts.h"
#include "pubsub/tag.h"
#include "core/op.h"
#include "broker/recovery.h"
#include "obs/log.h"
#include "redis/resp_writer.h"
#include "redis/slot.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/tickets.h"

namespace wsa {

namespace {

link_options links_of(const redis_broker_options& o, link_traffic* traffic) {
  link_options l = o.link;
  l.traffic = traffic;
  // Behind Sentinel an address may be stale: a link is up only on a server that says master.
  l.require_master = l.require_master || o.sentinel.has_value();
  return l;
}

}  // namespace

redis_broker::redis_broker(broker_events& results, ring& r, redis_broker_options options,
                           shard_metrics& metrics)
    : broker(results),
      metrics_(metrics),
      options_(std::move(options)),
      commands_(r, *this, links_of(options_, &traffic_), false),
      subscriber_(r, *this, links_of(options_, &traffic_), true),
      rng_(commands_.id()) {
  traffic_.latency = &metrics_.redis_command_latency;
  // A random instance: session tokens and control channels of two processes never meet.
  std::random_device random;
  sessions_ = std::make_unique<redis_session_store>(
      *this, (uint64_t{random()} << 32) ^ random() ^ static_cast<uint64_t>(unix_ms()),
      options_.session_held_ttl_ms);
  if (options_.cluster) {
    start_cluster(r);
    return;
  }
  if (options_.sentinel) {
    // The links start once a sentinel has named the master, and follow every new one.
    sentinel_owner& owner = *this;
    sentinel_ = std::make_unique<sentinel_watch>(r, owner, *options_.sentinel);
    sentinel_->follow(commands_);
    sentinel_->follow(subscriber_);
    sentinel_->start();
    return;
  }
  commands_.start();
  subscriber_.start();
}

redis_broker::~redis_broker() = default;

bool redis_broker::ready() const {
  if (cluster_) {
    return cluster_->ready();
  }
  return commands_.up() && scripts_ready() && subscriber_.up() && resubscribed_;
}

void redis_broker::poll() {
  flush_publishes();  // this turn's, grouped by tag
  const int64_t now = monotonic_ms();
  if (!resync_queue_.empty() && commands_ready()) {
    std::vector<std::string> tags;
    tags.swap(resync_queue_);
    for (const std::string& tag : tags) {
      auto it = exact_.find(tag);
      if (it != exact_.end() && it->second.resyncing && it->second.resync_waiting) {
        exact_watch& w = it->second;
        w.resync_waiting = false;
        send_query(tag, true, w.delivered, w.epoch, UINT64_MAX, 0, true, w.resync_token);
      }
    }
  }
  if (sentinel_) {
    sentinel_->poll();
  }
  poll_presence(now);
  sessions_->poll(now);
  copy_stats();
  if (cluster_) {
    if (retained_loading_ && std::exchange(retained_load_wanted_, false)) {
      load_retained();  // the slot of {ret} had no route: again once it has one
    }
    cluster_->poll();
    return;
  }
  if (publishes_since_wait_ > 0) {
    send_wait();
  }
  commands_.poll(now);
  subscriber_.poll(now);
}

void redis_broker::copy_stats() {
  metrics_.redis_commands.set(traffic_.commands);
  metrics_.redis_bytes_out.set(traffic_.bytes_out);
  metrics_.redis_bytes_in.set(traffic_.bytes_in);
  metrics_.redis_oversized_replies.set(traffic_.oversized_replies);
  if (sentinel_) {
    metrics_.redis_master_switches.set(sentinel_->switches());
  }
  if (cluster_) {
    const cluster_stats& s = cluster_->stats();
    metrics_.redis_cluster_moved.set(s.moved);
    metrics_.redis_cluster_asked.set(s.asked);
    metrics_.redis_cluster_tryagain.set(s.tryagain);
    metrics_.redis_cluster_refreshes.set(s.refreshes);
    metrics_.redis_cluster_refresh_errors.set(s.refresh_errors);
    metrics_.redis_cluster_channel_moves.set(s.channel_moves);
    metrics_.redis_cluster_links_up.set(cluster_->links_up());
    metrics_.redis_cluster_give_ups.set(s.give_ups);
  }
}

void redis_broker::on_completion(const completion& c) {
  const uint32_t link = decode_link_op(c.user_data).link;
  if (link == commands_.id()) {
    commands_.on_completion(c);
  } else if (link == subscriber_.id()) {
    subscriber_.on_completion(c);
  } else if (cluster_) {
    cluster_->on_completion(c);  // ignores other links' completions
  } else if (sentinel_) {
    sentinel_->on_completion(c);  // ignores other links' completions
  }  // else another broker's (tests run several on one ring)
}

// ---- link events ----

void redis_broker::on_link_up(link& l) {
  const bool commands = &l == &commands_;
  if (l.reconnects() > 0) {
    metrics_.broker_reconnects.add();
  }
  WSA_LOG(info, "redis connected")
      .kv("link", commands ? "commands" : "subscriber")
      .kv("address", l.address().text);
  if (commands) {
    // A new connection (perhaps to a new master): this node's members are written again.
    presence_resync_ = true;
    // Behind Sentinel, which master this is comes first: nothing is written before.
    ask_replication_id();
    // Every connection loads the scripts first (Redis forgets them on restart); commands
    // pipelined behind the loads find them.
    load_scripts();
    if (std::exchange(retained_load_wanted_, false)) {
      load_retained();
    }
    return;
  }
  subscribe_retained();
  for (auto& [tag, w] : exact_) {
    subscribe(tag, w);
  }
  for (auto& [glob, g] : globs_) {
    psubscribe(glob, g);
  }
  if (sessions_->channel_wanted()) {
    subscriber_.send({control_subscribe_cmd, 0, 0}, {"SUBSCRIBE", sessions_->channel()});
  }
  // Answered after every confirmation above (one connection answers in order).
  subscriber_.send({resubscribed_cmd, 0, 0}, {"PING"});
}

void redis_broker::on_link_down(link& l, std::string_view why) {
  const bool commands = &l == &commands_;
  WSA_LOG(warn, "redis connection lost")
      .kv("link", commands ? "commands" : "subscriber")
      .kv("address", l.address().text)
      .kv("reason", why);
  if (sentinel_) {
    sentinel_->recheck();  // the master may have moved: ask now rather than in 10 s
  }
  if (commands) {
    reloading_ = false;
    fail_awaiting();
    return;
  }
  // Answers that wait for the live stream, and queries that wait for a subscription,
  // cannot be given safely any more: their clients get `unavailable` and may retry.
  resubscribed_ = false;
  sessions_->send_held();  // (their control channel's confirmation will not come soon)
  for (auto& [glob, g] : globs_) {
    g.lost = g.lost || g.confirmed;  // what is published until it is back goes unseen
    g.confirmed = false;
  }
  for (auto& [tag, w] : exact_) {
    unconfirm(w);
  }
  fail_parked_and_deferred();
}

void redis_broker::on_link_failed(link& l, std::string_view why) {
  uint64_t suppressed = 0;
  if (connect_log_.allow(monotonic_ms(), suppressed)) {
    WSA_LOG(warn, "redis connection failed")
        .kv("link", &l == &commands_ ? "commands" : "subscriber")
        .kv("address", l.address().text)
        .kv("reason", why)
        .kv("suppressed", suppressed);
  }
  if (sentinel_) {
    sentinel_->recheck();
  }
}

void redis_broker::on_reply(link& l, const link_request& request, resp_view reply,
                            std::string_view command) {
  if (&l == &subscriber_) {
    switch (request.kind) {
      case subscribe_cmd:
      case psubscribe_cmd:
        on_subscribe_reply(request, reply);
        return;
      case barrier_cmd:
        on_barrier_reply(request);
        return;
      case resubscribed_cmd:
        resubscribed_ = true;
        return;
      case retained_sub_cmd:
        on_retained_subscribed(reply);
        return;
      case control_subscribe_cmd:
        if (!reply.is_error()) {
          sessions_->on_control_subscribed();
          return;
        }
        [[fallthrough]];
      default:
        if (reply.is_error()) {
          subscriber_.fail(std::string("UNSUBSCRIBE refused: ") + std::string(reply.str()));
        }
        return;
    }
  }
  switch (request.kind) {
    case load_publish:
    case load_publish_batch:
    case load_query:
    case load_candidates:
    case load_presence:
    case load_retain:
    case load_session: {
      if (reply.type() != resp_type::string) {
        commands_.fail(std::string("SCRIPT LOAD refused: ") + std::string(reply.str()));
        return;
      }
      (request.kind == load_publish         ? publish_sha_
       : request.kind == load_publish_batch ? publish_batch_sha_
       : request.kind == load_query         ? query_sha_
       : request.kind == load_candidates    ? candidates_sha_
       : request.kind == load_retain        ? retain_sha_
       : request.kind == load_presence      ? presence_sha_
                                            : session_sha_)
          .assign(reply.str());
      if (request.kind == load_session) {
        reloading_ = false;
      }
      return;
    }
    case session_cmd:
      if (!(reply.is_error() && retry_noscript(request, reply, command))) {
        sessions_->on_reply(request, reply);
      }
      return;
    case candidates_cmd:
      on_candidates_reply(request, reply, command);
      return;
    case presence_cmd:
    case presence_query_cmd:
      on_presence_reply(request, reply, command);
      return;
    case retain_cmd:
      on_retain_reply(request, reply, command);
      return;
    case retained_load_cmd:
      on_retained_loaded(reply);
      return;
    case publish_cmd:
      on_publish_reply(request, reply, command);
      return;
    case publish_batch_cmd:
      on_publish_batch_reply(request, reply, command);
      return;
    case query_cmd:
      on_query_reply(request, reply, command);
      return;
    case replid_cmd:
      on_replication_id(reply);
      return;
    case wait_cmd:
      on_wait_reply(reply);
      return;
    default:
      return;
  }
}

void redis_broker::on_failed(link& l, const link_request& request) {
  if (&l != &commands_) {
    return;  // the subscriber link's requests are redone when it comes back
  }
  if (request.kind == retained_load_cmd) {
    retained_load_wanted_ = true;  // again once the command link is back
  } else if (request.kind == publish_cmd) {
    fail_request(request);
  } else if (request.kind == publish_batch_cmd) {
    fail_batch(request);
  } else if (request.kind == session_cmd) {
    sessions_->on_failed(request);
  } else if (request.kind == candidates_cmd) {
    finish_recovery(request.token, true);
  } else if (request.kind == presence_cmd || request.kind == presence_query_cmd) {
    on_presence_failed(request);
  } else if (request.kind == wait_cmd) {
    fail_awaiting();
  } else if (request.kind == query_cmd) {
    const uint32_t index = request.aux & ~retried_bit;
    query_context context = std::move(contexts_[index]);
    free_contexts_.push_back(index);
    if (context.recovery.id != 0) {
      metrics_.broker_pending.sub();
      recovery_failed_query(context);
      return;
    }
    if (context.resync) {
      auto it = exact_.find(context.tag);
      if (it != exact_.end() && it->second.resyncing &&
          it->second.resync_token == context.resync_token) {
        it->second.resync_waiting = true;
        resync_queue_.push_back(context.tag);
      }
      return;
    }
    metrics_.broker_pending.sub();
    answer_failed(context.ticket);
  }
}

// ---- scripts ----

void redis_broker::load_scripts() {
  commands_.send({load_publish, 0, 0}, {"SCRIPT", "LOAD", redis_publish_script});
  commands_.send({load_publish_batch, 0, 0}, {"SCRIPT", "LOAD", redis_publish_batch_script});
  commands_.send({load_query, 0, 0}, {"SCRIPT", "LOAD", redis_query_script});
  commands_.send({load_retain, 0, 0}, {"SCRIPT", "LOAD", redis_retain_script});
  commands_.send({load_candidates, 0, 0}, {"SCRIPT", "LOAD", redis_candidates_script});
  commands_.send({load_presence, 0, 0}, {"SCRIPT", "LOAD", redis_presence_script});
  commands_.send({load_session, 0, 0}, {"SCRIPT", "LOAD", redis_session_script});
  reloading_ = true;
}

bool redis_broker::retry_noscript(const link_request& request, resp_view reply,
                                  std::string_view command) {
  // SCRIPT FLUSH (or a Redis that lost its script cache under a live connection): load
  // again and resend once; the load is queued ahead of the resend, so it finds the script.
  if (!reply.str().starts_with("NOSCRIPT") || (request.aux & retried_bit) != 0 ||
      command.empty()) {
    return false;
  }
  if (!reloading_) {
    load_scripts();
  }
  link_request again = request;
  again.aux |= retried_bit;
  if ((request.kind == publish_cmd || request.kind == publish_batch_cmd) &&
      options_.wait_replicas > 0) {
    ++publishes_since_wait_;  // the resend comes after the WAIT already queued
  }
  return commands_.resend(again, command);
}

std::string_view redis_broker::epoch_candidate() {
  uint64_t bits = rng_.next() * 0x2545f4914f6cdd1dull;
  for (char& c : epoch_buf_) {
    c = hex_digits[bits & 15];
    bits >>= 4;
  }
  return {epoch_buf_, sizeof epoch_buf_};
}

// ---- publish ----

bool redis_broker::backlogged(std::string_view tag) {
  const auto link_bytes = [&] {
    return cluster_ ? cluster_->backlog_bytes(slot_of(tag)) : commands_.backlog_bytes();
  };
  // This turn's publishes not encoded yet count too. Past the bound, they are encoded onto
  // their links first: on a cluster they may go to other masters, whose backlog is not this
  // tag's (a frozen master's burst must not refuse a healthy master's publish).
  std::size_t bytes = link_bytes() + turn_publish_bytes_;
  if (bytes > options_.max_backlog_bytes && turn_publish_bytes_ > 0) {
    flush_publishes();
    bytes = link_bytes();
  }
  if (bytes <= options_.max_backlog_bytes) {
    return false;
  }
  metrics_.broker_backlog_refusals.add();
  return true;
}

bool redis_broker::oversized(std::string_view tag, std::size_t data_bytes) {
  if (data_bytes <= options_.max_data_bytes) {
    return false;
  }
  metrics_.broker_oversized.add();
  note_error("message from Redis larger than this node's max-message-bytes dropped", tag);
  return true;
}

std::string* redis_broker::begin_session_command(std::string_view key) {
  if (cluster_) {
    return cluster_->begin(key_slot(key));
  }
  return commands_ready() ? &commands_.begin() : nullptr;
}

void redis_broker::subscribe_control(std::string_view channel) {
  if (cluster_) {
    cluster_->subscribe(channel);
  } else if (subscriber_.up()) {
    subscriber_.send({control_subscribe_cmd, 0, 0}, {"SUBSCRIBE", channel});
  }  // else on_link_up subscribes
}

bool redis_broker::publish_control(std::string_view channel, std::string_view payload) {
  const link_request request{session_cmd, redis_session_store::op_publish, 0};
  if (!cluster_) {
    return commands_.send(request, {"PUBLISH", channel, payload});
  }
  std::string* out = cluster_->begin(key_slot(channel));
  if (out == nullptr) {
    return false;
  }
  resp_command(*out, {"SPUBLISH", channel, payload});
  cluster_->commit(request);
  return true;
}

int64_t redis_broker::count_round_trip(const link_request& request) {
  // The link read the clock when the reply's bytes came (0: not from a link, read it now).
  const int64_t now_ns = request.replied_ns != 0 ? request.replied_ns : monotonic_ns();
  metrics_.broker_latency_us_sum.add(static_cast<uint64_t>(now_ns - request.sent_ns) / 1000);
  metrics_.broker_latency_count.add();
  return now_ns;
}

void redis_broker::note_error(std::string_view what, std::string_view detail) {
  // Logged at most once a second: a Redis refusing everything must not flood the log.
  uint64_t suppressed = 0;
  if (error_log_.allow(monotonic_ms(), suppressed)) {
    WSA_LOG(warn, what)
        .kv("error", detail.empty() ? "unexpected reply" : detail)
        .kv("suppressed", suppressed);
  }
}

void redis_broker::note_limited(std::string_view event, std::string_view what) {
  uint64_t suppressed = 0;
  if (connect_log_.allow(monotonic_ms(), suppressed)) {
    WSA_LOG(warn, event).kv("note", what).kv("suppressed", suppressed);
  }
}

// ---- query ----

void redis_broker::query(std::string_view tag, const since_request& since, uint64_t ticket) {
  if (is_wildcard(tag)) {
    query_pattern(tag, ticket);
    return;
  }
  if (!commands_ready() || backlogged(tag)) {
    answer_failed(ticket);
    return;
  }
  auto it = exact_.find(tag);
  if (it != exact_.end() && !it->second.confirmed) {
    if (!cluster_ && !subscriber_.up()) {
      answer_failed(ticket);
      return;
    }
    // The answer must not be older than the subscription: wait for its confirmation.
    it->second.deferred.push_back(
        {since.present, since.seq, std::string(since.epoch), since.max_bytes, ticket});
    return;
  }
  send_query(tag, since.present, since.seq, since.epoch, since.max_bytes, ticket, false, 0);
}

bool redis_broker::send_query(std::string_view tag, bool since_present, uint64_t since_seq,
                              std::string_view since_epoch, uint64_t max_bytes, uint64_t ticket,
                              bool resync, uint64_t resync_token,
                              const recovery_ref& recovery) {
  std::string* command = commands_ready() ? begin_command(tag) : nullptr;
  if (command == nullptr) {
    if (!resync && recovery.id == 0) {
      answer_failed(ticket);
    }
    return false;
  }
  const uint32_t index = acquire_ticket(contexts_, free_contexts_);
  query_context& c = contexts_[index];
  c.tag.assign(tag);
  c.since_present = since_present;
  c.since_seq = since_seq;
  c.since_epoch.assign(since_epoch);
  c.ticket = ticket;
  c.resync = resync;
  c.resync_token = resync_token;
  c.recovery = recovery;

  std::string& out = *command;
  resp_array(out, 16);
  resp_bulk(out, "EVALSHA");
  resp_bulk(out, query_sha_);
  resp_bulk(out, "2");
  resp_bulk_concat(out, {redis_key_prefix, tag, redis_seq_suffix});
  resp_bulk_concat(out, {redis_key_prefix, tag, redis_log_suffix});
  resp_bulk(out, epoch_candidate());
  resp_bulk(out, since_present ? "1" : "0");
  resp_bulk(out, since_seq);
  resp_bulk(out, since_epoch);
  resp_bulk(out, uint64_t{options_.history_max_age_s} * 1000);
  resp_bulk(out, key_ttl_ms());
  // At most what this node keeps per tag, and what the subscriber can be sent: Redis may
  // hold more (another node's --history-size).
  resp_bulk(out, uint64_t{std::max<uint32_t>(options_.history_size, 1)});
  resp_bulk(out, max_bytes);
  // What the script stores may carry metadata before the data (redis_meta.h): the data's
  // own size is checked once split (oversized).
  resp_bulk(out, uint64_t{options_.max_data_bytes} + message::max_meta_bytes + 8);
  resp_bulk(out, replid_);
  if (recovery.by_ts) {
    resp_bulk(out, recovery.ts_ms);
  } else {
    resp_bulk(out, std::string_view{});
  }
  commit_command({query_cmd, index, ticket});
  if (!resync) {
    metrics_.broker_pending.add();
  }
  return true;
}

void redis_broker::on_query_reply(const link_request& request, resp_view reply,
                                  std::string_view command) {
  if (reply.is_error() && retry_noscript(request, reply, command)) {
    return;
  }
  const uint32_t index = request.aux & ~retried_bit;
  const query_context context = std::move(contexts_[index]);
  free_contexts_.push_back(index);
  if (!context.resync) {
    metrics_.broker_pending.sub();
  }
  const std::size_t n = reply.size();
  if (!reply.is_array() || n < 4 || (n - 4) % 3 != 0 ||
      reply[0].type() != resp_type::integer || reply[1].type() != resp_type::string) {
    note_error("query failed", reply.str());
    if (context.recovery.id != 0) {
      recovery_failed_query(context);
    } else if (context.resync) {
      // The stream stays held; try again on the next turn.
      auto it = exact_.find(context.tag);
      if (it != exact_.end() && it->second.resync_token == context.resync_token) {
        it->second.resync_waiting = true;
        resync_queue_.push_back(context.tag);
      }
    } else {
      answer_failed(context.ticket);
    }
    return;
  }
  tag_position position;
  position.top = static_cast<uint64_t>(reply[0].integer());
  position.epoch = reply[1].str();
  const bool restart = reply[2].integer() != 0;
  bool incomplete = reply[3].integer() != 0;  // stopped at the count or byte limit

  std::vector<message_ref>& missed = scratch_;
  missed.clear();
  for (std::size_t i = 4; i + 2 < n; i += 3) {
    const auto seq = static_cast<uint64_t>(reply[i].integer());
    const int64_t ts_ms = reply[i + 1].integer();
    std::string_view data;
    std::string_view meta;
    if (!redis_split_stored(reply[i + 2].str(), data, meta)) {
      note_error("malformed message from Redis", context.tag);
      incomplete = true;
      continue;
    }
    if (oversized(context.tag, data.size())) {
      incomplete = true;
      continue;
    }
    missed.push_back(make_msg(context.tag, seq, ts_ms, data, meta));
  }
  if (context.recovery.id != 0) {
    count_round_trip(request);
    on_recovery_reply(context, std::move(position), missed, restart, incomplete);
    missed.clear();
    return;
  }
  if (context.since_present) {
    // The script applied the first rule (restart); the second is recovery_gap's. A replay
    // that stopped short of the top (count or byte limit) is a gap too.
    const recovery_plan plan{restart ? 0 : context.since_seq, restart};
    position.gap = incomplete ||
                   recovery_gap(plan, position.top, missed.empty() ? 0 : missed.front()->seq());
    if (incomplete && !context.resync) {
      metrics_.replays_truncated.add();
    }
  }
  if (context.resync) {
    on_resync_answer(context, position, missed);
  } else {
    count_round_trip(request);
    auto it = exact_.find(context.tag);
    if (it != exact_.end()) {
      on_watched_answer(context, it->second, position, missed);
    } else {
      answer(context.ticket, position, missed);
    }
  }
  missed.clear();
}

void redis_broker::answer(uint64_t ticket, const tag_position& position,
                          std::span<const message_ref> missed) {
  broker_event& e = results_.queried(ticket, position.top, position.epoch, position.gap);
  e.missed.assign(missed.begin(), missed.end());
}

void redis_broker::answer_failed(uint64_t ticket) {
  metrics_.broker_errors.add();
  results_.query_failed(ticket, "unavailable");
}

message_ref redis_broker::make_msg(std::string_view tag, uint64_t seq, int64_t ts_ms,
                                   std::string_view data, std::string_view meta) {
  return message_ref::adopt(message::make(tag, seq, ts_ms, data, meta));
}

}  // namespace wsa
