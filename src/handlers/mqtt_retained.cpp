// Retained messages (docs/mqtt.md "Retained messages"): a PUBLISH with the retain flag is
// published like any other and, once the router has taken it, becomes its tag's retained
// message in every shard's replica (broker/retained_store.h: the publisher's shard applies
// it and sends a `retain` record to the others). A SUBSCRIBE reads this shard's replica
// and sends the matching retained messages after its SUBACK, with the retain flag set.
#include "handlers/mqtt.h"

#include <algorithm>

#include "obs/log.h"
#include "util/clock.h"

namespace wsa {
namespace {

// Tree nodes a SUBSCRIBE may look at per retained message it may send (about 4 ms of lookups
// for the default 1032 messages).
constexpr std::size_t visits_per_retained_message = 64;

}  // namespace

template <class Record>
void mqtt_handler::to_other_shards(const Record& record) {
  for (unsigned peer = 0; peer < shards_; ++peer) {
    if (peer != shard_) {
      post_record(mail_, peer, record);
    }
  }
}

void mqtt_handler::keep_retained(std::string_view tag, std::string_view data,
                                 std::string_view meta, uint8_t qos, uint32_t expiry_s) {
  if (router_.shares_retained()) {
    // Redis keeps the cluster's: every node's copies change when Redis tells them (shard
    // 0's broker), the publisher's too. The bounds are the cluster's there.
    router_.retain({tag, data, meta, cfg_.mqtt_retained_max, cfg_.mqtt_retained_max_bytes});
    return;
  }
  // Kept when the server takes the PUBLISH (as Mosquitto does), not when the broker has
  // numbered it: a QoS 0 publisher may be gone by then. The order among the shards' updates
  // is (publication time here, then a per-shard count with the shard in its low part), one
  // total order every copy applies alike.
  const uint64_t order = ++retained_count_ * shards_ + shard_;
  const mqtt_records::retain r{order, unix_ms(), qos, tag, data, meta};
  if (apply_retained(r, /*origin=*/true, expiry_s) == retained_store::put_result::full) {
    metrics_.mqtt_retained_refusals.add();
    return;  // published, not retained: the other copies are not told either
  }
  to_other_shards(r);
}

void mqtt_handler::on_broker_retained(message& m) {
  // Redis' order (its time, then a number per change) is one total order for every node.
  mqtt::message_meta meta;
  (void)mqtt::read_message_meta(m.meta(), meta);
  const mqtt_records::retain r{m.seq(), m.ts_ms(), meta.qos, m.tag(), m.data(), m.meta()};
  apply_retained(r, /*origin=*/false, meta.expiry_s);
  to_other_shards(r);
}

void mqtt_handler::on_broker_retained_reset() {
  reset_retained();
  to_other_shards(mqtt_records::retain_reset{});
}

void mqtt_handler::reset_retained() {
  retained_.clear();
  metrics_.mqtt_retained_messages.set(0);
  metrics_.mqtt_retained_bytes.set(0);
}

retained_store::put_result mqtt_handler::apply_retained(const mqtt_records::retain& r,
                                                        bool origin,
                                                        std::optional<uint32_t> expiry_s) {
  if (!expiry_s) {
    // Once per change and copy (a record from another shard), never per delivery.
    mqtt::message_meta meta;
    (void)mqtt::read_message_meta(r.meta, meta);
    expiry_s = meta.expiry_s;
  }
  const auto result =
      retained_.put(r.tag, r.seq, r.ts_ms, r.data, r.qos, origin, r.meta, *expiry_s);
  // Gauges of this shard's replica (each shard holds the node's retained messages).
  metrics_.mqtt_retained_messages.set(retained_.size());
  metrics_.mqtt_retained_bytes.set(retained_.bytes());
  return result;
}


bool mqtt_handler::send_retained(conn& c, std::span<const mqtt::filter_patterns> filters) {
  // Bounded per SUBSCRIBE, whatever its filters: each distinct pattern walks the branches of
  // the retained tree it can match once, and at most as many retained messages as the
  // session's delivery queue holds are sent (more would close it as a slow consumer).
  patterns_.clear();
  for (const mqtt::filter_patterns& f : filters) {
    for (const std::string* pattern : {&f.first, &f.second}) {
      if (!pattern->empty() &&
          std::find(patterns_.begin(), patterns_.end(), *pattern) == patterns_.end()) {
        patterns_.push_back(*pattern);
      }
    }
  }
  std::size_t budget = std::size_t{limits_.max_inflight} + limits_.max_pending;
  // The tree nodes looked at, bounded too: a filter like `+/x` over a level with many
  // children and few matches costs lookups without sends.
  std::size_t visits = budget * visits_per_retained_message;
  bool open = true;
  bool cut = false;
  for (const std::string& pattern : patterns_) {
    auto send = [&](const retained_store::entry& e) {
      if (budget == 0 || !c.mqtt->window || c.mqtt->window->pending() >= limits_.max_pending) {
        cut = true;
        return false;
      }
      --budget;
      open = deliver_retained(c, e);
      return open;
    };
    const bool whole = retained_.for_each_match(pattern, visits, send);
    cut = cut || (open && !whole);
    if (!open || cut) {
      break;
    }
  }
  if (cut) {
    metrics_.mqtt_retained_cut.add();
  }
  return open;
}

bool mqtt_handler::deliver_retained(conn& c, const retained_store::entry& e) {
  mqtt_conn& mc = *c.mqtt;
  message& m = *e.m;
  // No Local is not applied to retained messages sent on subscribe (as Mosquitto does): the
  // subscriber asked for the tag's state.
  if (!mc.session->plan_delivery(m.tag(), false, plan_)) {
    return true;  // (a subscription refused in the same SUBSCRIBE)
  }
  const mqtt::message_info info{e.qos, true, e.expiry_s, m.ts_ms()};
  if (std::min(plan_.qos, info.qos) >= 1) {
    return offer_qos1(c, e.m, /*retained=*/true);
  }
  mqtt::outgoing_message om;
  mqtt::delivery d;
  if (!view_of(m, om)) {
    metrics_.mqtt_deliveries_dropped.add();
    return true;
  }
  if (!prepared(mc.session->prepare(om, plan_, info, /*retained=*/true, unix_ms(), d))) {
    return true;  // expired: a retained message outlives its expiry only unsent
  }
  metrics_.deliveries.add();
  return send_own(c, m, om, d);
}

}  // namespace wsa
