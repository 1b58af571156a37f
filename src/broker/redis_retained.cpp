// The Redis broker's share of MQTT retained messages (docs/mqtt.md "Retained messages"): a
// retained PUBLISH on any node is kept in Redis by a script that orders it among every
// node's changes and publishes the change on one channel; shard 0's broker of each node
// subscribes to that channel and, whenever its subscription is (re)confirmed, loads the
// whole set (HGETALL), so that a node started later, or back after an outage, has them all.
// Its `retained` events go to the node's MQTT handler, which updates every shard's copy.
// On Redis Cluster the keys live in the slot of {ret} and the channel is sharded in that
// slot (the cluster client subscribes where the slot lives and reports it up and down).
// Changes that come while the set is read are held, up to a bound in bytes: past it they
// are dropped, and once the read under way is answered it is applied (with the changes
// held after the drop) and the set read again.
// See redis_scripts.h for the keys.
#include <utility>

#include "broker/redis_broker.h"
#include "broker/redis_meta.h"
#include "broker/redis_scripts.h"
#include "obs/log.h"
#include "redis/resp_writer.h"
#include "redis/slot.h"

namespace wsa {
namespace {

// What a held change is charged beyond its bytes (the message record and the held slot).
constexpr uint64_t held_overhead = 128;

}  // namespace

std::string_view redis_broker::retained_channel_name() const {
  return cluster_ ? redis_cluster_retained_channel : redis_retained_channel;
}

void redis_broker::retain(const retain_request& request) {
  std::string* begun = commands_ready() ? begin_session_command(redis_retained_key) : nullptr;
  if (begun == nullptr) {
    // Not kept: the publish itself was acknowledged or refused on its own.
    metrics_.broker_errors.add();
    metrics_.mqtt_retained_refusals.add();
    return;
  }
  std::string& out = *begun;
  resp_array(out, 11);
  resp_bulk(out, "EVALSHA");
  resp_bulk(out, retain_sha_);
  resp_bulk(out, "2");
  resp_bulk(out, redis_retained_key);
  resp_bulk(out, redis_retained_state_key);
  resp_bulk(out, request.tag);
  if (request.data.empty()) {
    resp_bulk(out, std::string_view{});
  } else if (request.meta.empty()) {
    resp_bulk(out, request.data);
  } else {
    char prefix[8];
    resp_bulk_concat(out, {redis_meta_prefix(request.meta, prefix), request.meta, request.data});
  }
  resp_bulk(out, uint64_t{request.max_messages});
  resp_bulk(out, request.max_bytes);
  resp_bulk(out, retained_channel_name());
  resp_bulk(out, cluster_ ? std::string_view{"SPUBLISH"} : std::string_view{"PUBLISH"});
  commit_command({retain_cmd, 0, 0});
}

void redis_broker::on_retain_reply(const link_request& request, resp_view reply,
                                   std::string_view command) {
  if (reply.is_error() && retry_noscript(request, reply, command)) {
    return;
  }
  if (reply.type() != resp_type::integer) {
    metrics_.broker_errors.add();
    note_error("retained message refused by Redis", reply.str());
    return;
  }
  if (reply.integer() == 0) {
    metrics_.mqtt_retained_refusals.add();  // a new topic past the cluster's bounds
  }
}

void redis_broker::subscribe_retained() {
  stop_retained_load();
  if (!options_.retained_channel) {
    return;
  }
  if (cluster_) {
    cluster_->subscribe(redis_cluster_retained_channel);  // on_channel_up confirms
  } else {
    subscriber_.send({retained_sub_cmd, 0, 0}, {"SUBSCRIBE", redis_retained_channel});
  }
}

void redis_broker::stop_retained_load() {
  retained_loading_ = false;
  retained_load_wanted_ = false;
  retained_reload_ = false;
  retained_held_.clear();
  retained_held_bytes_ = 0;
}

void redis_broker::on_retained_subscribed(resp_view reply) {
  if (reply.is_error()) {
    subscriber_.fail(std::string("SUBSCRIBE refused: ") + std::string(reply.str()));
    return;
  }
  begin_retained_load();
}

void redis_broker::begin_retained_load() {
  // Changes from now on come on the channel; the set read after this covers the rest.
  retained_loading_ = true;
  load_retained();
}

void redis_broker::load_retained() {
  metrics_.mqtt_retained_loads.add();
  const link_request request{retained_load_cmd, 0, 0};
  const bool sent = cluster_ ? cluster_->send(key_slot(redis_retained_key), request,
                                              {"HGETALL", redis_retained_key})
                             : commands_.up() && commands_.send(request,
                                                               {"HGETALL", redis_retained_key});
  if (!sent) {
    metrics_.mqtt_retained_loads.sub();
    retained_load_wanted_ = true;  // again once a command link is up (poll / on_link_up)
  }
}

void redis_broker::on_retained_loaded(resp_view reply) {
  if (!retained_loading_) {
    return;  // the subscription dropped meanwhile: a new load follows its confirmation
  }
  // Changes were dropped while this set was read: it is applied all the same (it is newer
  // than the copy; under changes that never stop, discarding it would read the set again
  // and again, never applying one), then read again for what it may miss.
  const bool again = std::exchange(retained_reload_, false);
  if (!reply.is_array() || reply.size() % 2 != 0) {
    // (An error, or a key of another type.) The copy keeps what it had, with the changes
    // held meanwhile: holding them longer would wait for a set that may not come. The next
    // subscription of the channel reads the set again.
    metrics_.broker_errors.add();
    note_error("malformed retained messages from Redis", reply.str());
  } else {
    results_.retained_reset();
    for (std::size_t i = 0; i + 1 < reply.size(); i += 2) {
      if (message_ref m = retained_message(reply[i].str(), reply[i + 1].str())) {
        results_.retained(std::move(m));
      }
    }
  }
  // Changes that came while the set was read: newer ones win where they overlap.
  for (message_ref& m : retained_held_) {
    results_.retained(std::move(m));
  }
  retained_held_.clear();
  retained_held_bytes_ = 0;
  if (again) {
    load_retained();  // (still loading: changes from here on are held for this read)
    return;
  }
  retained_loading_ = false;
}

void redis_broker::on_retained_push(std::string_view payload) {
  const std::size_t space = payload.find(' ');
  if (space == std::string_view::npos) {
    note_error("malformed retained message from Redis", payload);
    return;
  }
  message_ref m = retained_message(payload.substr(0, space), payload.substr(space + 1));
  if (!m) {
    return;
  }
  if (!retained_loading_) {
    results_.retained(std::move(m));
    return;
  }
  retained_held_bytes_ += m->tag().size() + m->data().size() + m->meta().size() + held_overhead;
  if (retained_held_bytes_ > options_.retained_hold_max_bytes) {
    // Past the bound: forget what was held and read the whole set again after the read under
    // way (which may miss these changes). Changes from here on are held for that read.
    retained_held_.clear();
    retained_held_bytes_ = 0;
    if (!retained_reload_) {
      retained_reload_ = true;
      metrics_.mqtt_retained_reloads.add();
    }
    return;
  }
  retained_held_.push_back(std::move(m));
}

message_ref redis_broker::retained_message(std::string_view tag, std::string_view value) {
  uint64_t order = 0;
  int64_t ts_ms = 0;
  std::string_view stored;
  bool cleared = false;
  std::string_view data;
  std::string_view meta;
  if (tag.empty() || tag.size() > UINT16_MAX ||
      !redis_parse_retained(value, order, ts_ms, stored, cleared) ||
      !redis_split_stored(stored, data, meta)) {
    note_error("malformed retained message from Redis", tag);
    return {};
  }
  if (oversized(tag, data.size())) {
    return {};
  }
  return make_msg(tag, order, ts_ms, data, meta);
}

}  // namespace wsa
