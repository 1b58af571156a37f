// The Redis broker's publishes: a loop turn's publishes are grouped by tag and sent when the
// broker's poll() runs (or before any other tag command, built with begin_command: a query,
// a presence update, so that Redis sees those in the order they were asked for; a
// retained SET or a session command may reach Redis before a publish of the same turn, as
// they may from another shard anyway); a tag's group of one goes as the publish
// script's call, a group of several as ONE call of the batch script (redis_scripts.h), which
// saves Redis an EVALSHA, a state read, a TIME and a TTL/registry check per message, and
// the node a key encoding and a reply per message. What Redis stores and PUBLISHes is the
// same either way (one pub/sub message per publish: other nodes, of this version or an
// older one, see no difference). Each message's `published` comes with its call's reply
// (and its WAIT), a failed call fails each of its messages. Order is kept per tag; publishes
// of different tags in one turn may reach Redis in another order than they were asked (as
// on a cluster, where their slots' masters differ anyway). See redis_broker.h.
#include "broker/redis_broker.h"
#include "broker/redis_meta.h"
#include "broker/redis_scripts.h"
#include "redis/resp_writer.h"
#include "util/release.h"
#include "util/tickets.h"

namespace wsa {

namespace {

/// Messages per batch call at most (its reply is 3 integers a message); more of one tag in
/// one turn start another call.
constexpr std::size_t max_batch_messages = 64;
/// Groups searched back for a publish's tag (a turn with more tags may split one tag into
/// several calls, in order: never slower than one call a message).
constexpr uint32_t group_search_depth = 16;
/// What a burst turn leaves behind is given back: a group's buffers past this capacity, and
/// the groups past this count (each keeps its strings' capacity for the next turns); the
/// batch calls' ticket lists past this count once every call has been answered.
constexpr std::size_t kept_group_bytes = 64 * 1024;
constexpr std::size_t kept_groups = 64;
constexpr std::size_t kept_batches = 64;

}  // namespace

void redis_broker::refresh_publish_encoding() {
  if (!publish_tail_.empty() && encoded_sha_ == publish_sha_ && encoded_replid_ == replid_) {
    return;
  }
  encoded_sha_ = publish_sha_;
  encoded_replid_ = replid_;
  for (const bool idem : {false, true}) {
    std::string& head = publish_head_[idem ? 1 : 0];
    head.clear();
    resp_array(head, idem ? 16 : 15);
    resp_bulk(head, "EVALSHA");
    resp_bulk(head, publish_sha_);
    resp_bulk(head, idem ? "3" : "2");
  }
  std::string& out = publish_tail_;
  out.clear();
  resp_bulk(out, uint64_t{options_.history_size});
  resp_bulk(out, uint64_t{options_.history_max_age_s} * 1000);
  resp_bulk(out, key_ttl_ms());
  resp_bulk(out, replid_);
  resp_bulk(out, options_.idem_window_ms);
  // The tag registry of pattern recovery; none on a cluster (another slot; no patterns).
  resp_bulk(out, cluster_ ? std::string_view{} : redis_registry_prefix);
  resp_bulk(out, registry_cap());
}

redis_broker::publish_group& redis_broker::group_for(std::string_view tag) {
  const uint32_t stop = group_count_ > group_search_depth ? group_count_ - group_search_depth : 0;
  for (uint32_t i = group_count_; i > stop; --i) {
    publish_group& g = groups_[i - 1];
    if (g.tag == tag) {
      if (g.tickets.size() < max_batch_messages) {
        return g;
      }
      break;  // full: the next call of this tag (after it, so in order)
    }
  }
  if (group_count_ == groups_.size()) {
    groups_.emplace_back();
  }
  publish_group& g = groups_[group_count_++];
  g.args.clear();
  g.idem_keys.clear();
  g.idem_count = 0;
  g.tickets.clear();
  if (g.tag != tag) {  // the keys are kept while the slot serves the same tag
    g.tag.assign(tag);
    g.keys.clear();
    resp_bulk_concat(g.keys, {redis_key_prefix, tag, redis_seq_suffix});
    resp_bulk_concat(g.keys, {redis_key_prefix, tag, redis_log_suffix});
    g.channel_at = g.keys.size();
    resp_bulk_concat(g.keys, {redis_key_prefix, tag, redis_channel_suffix});
  }
  return g;
}

void redis_broker::publish(const publish_request& request) {
  const std::string_view tag = request.tag;
  if (!commands_ready() || backlogged(tag)) {
    metrics_.broker_errors.add();
    results_.publish_failed(request.ticket, "unavailable");
    return;
  }
  publish_group& g = group_for(tag);
  const std::size_t before = g.args.size() + g.idem_keys.size();
  if (request.meta.empty()) [[likely]] {
    resp_bulk(g.args, request.data);
  } else {
    char prefix[8];
    resp_bulk_concat(g.args,
                     {redis_meta_prefix(request.meta, prefix), request.meta, request.data});
  }
  if (g.tickets.empty()) {
    g.first_data_end = g.args.size();
  }
  const bool idem = !request.idem.empty();
  resp_bulk(g.args, idem ? std::string_view{"1"} : std::string_view{});
  if (idem) {
    resp_bulk_concat(g.idem_keys, {redis_key_prefix, tag, redis_idem_infix, request.idem});
    ++g.idem_count;
  }
  g.tickets.push_back(request.ticket);
  turn_publish_bytes_ += g.args.size() + g.idem_keys.size() - before;
  metrics_.broker_pending.add();
}

void redis_broker::flush_publishes() {
  if (group_count_ == 0) {
    return;
  }
  refresh_publish_encoding();
  // Zeroed before sending: each group's begin_command flushes first and finds nothing (no
  // publish comes meanwhile: nothing re-enters a broker, events.h).
  const uint32_t n = group_count_;
  group_count_ = 0;
  turn_publish_bytes_ = 0;
  for (uint32_t i = 0; i < n; ++i) {
    publish_group& g = groups_[i];
    send_publish_group(g);
    release_if_grown(g.args, kept_group_bytes);
    release_if_grown(g.idem_keys, kept_group_bytes);
  }
  if (groups_.size() > kept_groups && n <= kept_groups) {
    groups_.resize(kept_groups);
    groups_.shrink_to_fit();
  }
}

void redis_broker::send_publish_group(publish_group& g) {
  std::string* command = begin_command(g.tag);
  if (command == nullptr) {
    for (const uint64_t ticket : g.tickets) {
      fail_request({publish_cmd, 0, ticket});
    }
    return;
  }
  std::string& out = *command;
  const std::string_view keys = g.keys;
  const std::size_t n = g.tickets.size();
  if (n == 1) {  // the publish script, as before batching
    out.append(publish_head_[g.idem_count > 0 ? 1 : 0]);  // EVALSHA sha numkeys
    out.append(keys.substr(0, g.channel_at));
    out.append(g.idem_keys);
    out.append(keys.substr(g.channel_at));
    out.append(g.args, 0, g.first_data_end);
    resp_bulk(out, epoch_candidate());
    out.append(publish_tail_);
    // Announced to patterns once stored, if due; the mark saves searching every reply.
    const bool announce = cluster_ && note_cluster_publish(g.tag, g.tickets[0]);
    commit_command({publish_cmd, announce ? announce_bit : 0, g.tickets[0]});
  } else {
    resp_array(out, 15 + g.idem_count + 2 * n);
    resp_bulk(out, "EVALSHA");
    resp_bulk(out, publish_batch_sha_);
    resp_bulk(out, uint64_t{2} + g.idem_count);
    out.append(keys.substr(0, g.channel_at));
    out.append(g.idem_keys);
    out.append(keys.substr(g.channel_at));
    resp_bulk(out, std::string_view{});  // (the single script's data: the same ARGV after it)
    resp_bulk(out, epoch_candidate());
    out.append(publish_tail_);
    out.append(g.args);
    const uint32_t index = acquire_ticket(batches_, free_batches_);
    batches_[index].swap(g.tickets);  // (the group keeps the freed vector's capacity)
    const uint64_t first = batches_[index].front();
    // The announce (cluster patterns) reads the reply's first seq and ts: the first message's.
    const bool announce = cluster_ && note_cluster_publish(g.tag, first);
    commit_command({publish_batch_cmd, index | (announce ? announce_bit : 0), first});
  }
  publishes_since_wait_ += options_.wait_replicas > 0 ? 1 : 0;
}

void redis_broker::published_one(const link_request& request, uint64_t ticket, uint64_t seq,
                                 int64_t ts, bool dup, int64_t now_ns) {
  if (dup) {
    metrics_.idem_duplicates.add();
  }
  if (options_.wait_replicas > 0) {
    // A dup waits too: the first publish may not have reached the replicas yet.
    link_request one = request;
    one.token = ticket;
    await_replicas(one, seq, ts, dup);
    return;
  }
  metrics_.broker_pending.sub();
  metrics_.broker_publish_latency.observe_ns(request.sent_ns, now_ns);
  results_.published(ticket, seq, ts, dup);
}

void redis_broker::on_publish_reply(const link_request& request, resp_view reply,
                                    std::string_view command) {
  if (reply.is_array() && (reply.size() == 2 || reply.size() == 3) &&
      reply[0].type() == resp_type::integer && reply[0].integer() > 0 &&
      reply[1].type() == resp_type::integer) {
    const int64_t now_ns = count_round_trip(request);
    // Three elements: the idem key was held, nothing was published.
    published_one(request, request.token, static_cast<uint64_t>(reply[0].integer()),
                  reply[1].integer(), reply.size() == 3, now_ns);
    return;
  }
  if (reply.is_error() && retry_noscript(request, reply, command)) {
    return;
  }
  note_error("publish failed", reply.str());
  fail_request(request);
}

void redis_broker::on_publish_batch_reply(const link_request& request, resp_view reply,
                                          std::string_view command) {
  const uint32_t index = batch_index(request);
  std::vector<uint64_t>& tickets = batches_[index];
  const std::size_t n = tickets.size();
  bool ok = reply.is_array() && reply.size() == 3 * n;
  for (std::size_t i = 0; ok && i < n; ++i) {
    ok = reply[3 * i].type() == resp_type::integer && reply[3 * i].integer() > 0 &&
         reply[3 * i + 1].type() == resp_type::integer &&
         reply[3 * i + 2].type() == resp_type::integer;
  }
  if (ok) {
    for (std::size_t i = 0; i < n; ++i) {
      const int64_t now_ns = count_round_trip(request);  // (a round trip per publish)
      published_one(request, tickets[i], static_cast<uint64_t>(reply[3 * i].integer()),
                    reply[3 * i + 1].integer(), reply[3 * i + 2].integer() != 0, now_ns);
    }
  } else if (reply.is_error() && retry_noscript(request, reply, command)) {
    return;  // resent: its tickets stay
  } else {
    note_error("publish failed", reply.str());
    fail_batch(request);
    return;
  }
  release_batch(index);
}

void redis_broker::fail_batch(const link_request& request) {
  const uint32_t index = batch_index(request);
  std::vector<uint64_t>& tickets = batches_[index];
  for (const uint64_t ticket : tickets) {
    fail_request({publish_cmd, 0, ticket});
  }
  release_batch(index);
}

void redis_broker::release_batch(uint32_t index) {
  batches_[index].clear();
  free_batches_.push_back(index);
  if (batches_.size() > kept_batches && free_batches_.size() == batches_.size()) {
    batches_.resize(kept_batches);  // (none in flight: no index past it is held)
    batches_.shrink_to_fit();
    std::erase_if(free_batches_, [](uint32_t i) { return i >= kept_batches; });
    free_batches_.shrink_to_fit();
  }
}

void redis_broker::fail_request(const link_request& request) {
  metrics_.broker_pending.sub();
  metrics_.broker_errors.add();
  results_.publish_failed(request.token, "unavailable");
}

}  // namespace wsa
