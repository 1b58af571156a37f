// MQTT messages both ways: PUBLISH from a client to the router (with its QoS 1 and 2
// exchanges), SUBSCRIBE and UNSUBSCRIBE to the router, and the router's messages to the
// client (QoS 0 by reference to the message's shared PUBLISH, QoS 1 through the session's
// bounded in-flight window). See mqtt.h.
#include <algorithm>
#include <charconv>

#include "handlers/mqtt.h"
#include "mqtt/payload.h"
#include "util/clock.h"

namespace wsa {
namespace {

// A publish's request id carries what its acknowledgement needs: "<qos>:<packet id>" (QoS 0
// publishes have none and get no answer).
void write_publish_id(std::string& out, uint8_t qos, uint16_t packet_id) {
  out.assign(1, static_cast<char>('0' + qos));
  out += ':';
  out += std::to_string(packet_id);
}

bool read_publish_id(std::string_view id, uint8_t& qos, uint16_t& packet_id) {
  if (id.size() < 3 || id[1] != ':' || (id[0] != '1' && id[0] != '2')) {
    return false;
  }
  qos = static_cast<uint8_t>(id[0] - '0');
  const auto [end, ec] = std::from_chars(id.data() + 2, id.data() + id.size(), packet_id);
  return ec == std::errc() && end == id.data() + id.size();
}

bool read_packet_id(std::string_view id, uint16_t& packet_id) {
  const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), packet_id);
  return ec == std::errc() && end == id.data() + id.size();
}

mqtt::message_info info_of(const mqtt::message_meta& meta, const message& m) {
  return {meta.qos, meta.retain, meta.expiry_s, m.ts_ms()};
}

}  // namespace

// ---- PUBLISH from the client ----

void mqtt_handler::on_publish(conn& c, const mqtt::publish_packet& p) {
  mqtt_conn& mc = *c.mqtt;
  auto allow = [&](std::string_view tag) { return may_publish(c, tag); };
  const mqtt::publish_decision d = mc.session->on_publish(p, allow);
  switch (d.what) {
    case mqtt::publish_decision::action::close:
      metrics_.mqtt_publish_refusals.add();
      close(c, d.code);
      return;
    case mqtt::publish_decision::action::refuse_ack:
      metrics_.mqtt_publish_refusals.add();
      send_ack(c, p.qos == 1 ? mqtt::packet_type::puback : mqtt::packet_type::pubrec,
               mc.session->publish_done(p.qos, p.packet_id, d.code));
      return;
    case mqtt::publish_decision::action::publish:
      break;
  }
  if (d.duplicate) {
    // A QoS 2 PUBLISH retransmitted before its PUBREL: published once already (exactly
    // once), so only its PUBREC is due again.
    send_ack(c, mqtt::packet_type::pubrec,
             mc.session->publish_done(2, p.packet_id, mqtt::reason::success));
    return;
  }
  if (!mc.pub_bucket.take(pub_rate_, monotonic_ns())) [[unlikely]] {
    // Past --pub-rate: 5.0 QoS 1/2 are answered "message rate too high" and the connection
    // stays; a QoS 0 or 3.1.1 PUBLISH can only be refused by closing (as for permissions).
    metrics_.rate_limited_publishes.add();
    if (p.qos == 0 || mc.wire.level != mqtt::protocol::v5) {
      close(c, mqtt::reason::message_rate_too_high);
      return;
    }
    send_ack(c, p.qos == 1 ? mqtt::packet_type::puback : mqtt::packet_type::pubrec,
             mc.session->publish_done(p.qos, p.packet_id, mqtt::reason::message_rate_too_high));
    return;
  }
  metrics_.publishes.add();
  const std::string_view data = mqtt::payload_to_data(p.payload, scratch_);
  request_id_.clear();
  if (p.qos > 0) {
    write_publish_id(request_id_, p.qos, p.packet_id);
  }
  // What MQTT subscribers need besides the data travels with the message (bounded by the
  // session: limits::max_forwarded_properties).
  const uint32_t expiry = p.props.has(mqtt::property_id::message_expiry_interval)
                              ? p.props.message_expiry_interval
                              : 0;
  const std::string_view meta =
      write_meta({p.qos, p.retain, expiry, mc.publisher, {}}, p.props.raw);
  if (!router_.publish(subscriber_of(c), request_id_, d.tag, data, {}, meta)) {
    // Refused at once (a full backlog between shards): answered as a failed publish (QoS 0:
    // dropped, as at-most-once allows).
    on_published(c, request_id_, publish_outcome{});
    return;
  }
  if (p.retain) {
    // An empty payload clears the tag's retained message ([MQTT-3.3.1-6]); it is still
    // published to the subscribers of now, as a normal message ([MQTT-3.3.1-10]).
    keep_retained(d.tag, p.payload.empty() ? std::string_view() : data, meta, p.qos, expiry);
  }
}

void mqtt_handler::on_published(conn& c, std::string_view request_id,
                                const publish_outcome& outcome) {
  uint8_t qos = 0;
  uint16_t packet_id = 0;
  if (!read_publish_id(request_id, qos, packet_id)) {
    return;  // QoS 0: nobody waits
  }
  if (!outcome.ok && c.mqtt->wire.level == mqtt::protocol::v311) {
    // 3.1.1 acknowledgements cannot say "failed", and acknowledging would lose the
    // message: close, so that the client publishes it again on its next connection.
    close(c, mqtt::reason::success);
    return;
  }
  const mqtt::reason code =
      outcome.ok ? mqtt::reason::success : mqtt::reason::implementation_specific_error;
  send_ack(c, qos == 1 ? mqtt::packet_type::puback : mqtt::packet_type::pubrec,
           c.mqtt->session->publish_done(qos, packet_id, code));
}

// ---- SUBSCRIBE, UNSUBSCRIBE, DISCONNECT ----

void mqtt_handler::on_subscribe(conn& c, const mqtt::subscribe_packet& p) {
  mqtt_conn& mc = *c.mqtt;
  if (!mc.sub_bucket.take(sub_rate_, monotonic_ns())) [[unlikely]] {
    // Past --sub-rate: every filter refused (quota exceeded; 3.1.1 0x80), nothing changes.
    metrics_.rate_limited_subscribes.add();
    codes_.assign(p.entries.size(), mqtt::reason::quota_exceeded);
    send_suback(c, p.packet_id, codes_);
    return;
  }
  if (p.entries.size() > 2 * std::size_t{limits_.max_subscriptions}) [[unlikely]] {
    // Far more filters in one packet than a session may hold (repeats allowed up to as many
    // again, as for a WebSocket `sub`): refused whole (each filter quota exceeded; 3.1.1
    // 0x80), before any of them costs a subscription or a retained lookup.
    metrics_.mqtt_subscribe_oversized.add();
    codes_.assign(p.entries.size(), mqtt::reason::quota_exceeded);
    send_suback(c, p.packet_id, codes_);
    return;
  }
  auto allow = [&](std::string_view pattern) { return may_subscribe(c, pattern); };
  // (Redis Cluster refuses patterns starting with a wildcard: 0xA2, as the WebSocket `sub`
  // gets bad_request with its reason, rather than a subscription that never delivers.)
  auto served = [&](std::string_view pattern) {
    return router_.pattern_refusal(pattern, false) == nullptr;
  };
  const mqtt::permit_ref served_ref(served);
  mc.session->on_subscribe(p, allow, sub_out_, &served_ref);
  if (mc.keeps_session) {
    mc.session->subscribed(unix_ms());  // a wildcard resumes from here at the earliest
  }
  for (const mqtt::reason code : sub_out_.codes) {
    if (static_cast<uint8_t>(code) >= 0x80) {
      metrics_.mqtt_subscribe_refusals.add();
    }
  }
  sub_items_.clear();
  for (const std::string& pattern : sub_out_.new_patterns) {
    sub_items_.push_back(sub_item{pattern});
  }
  if (sub_items_.empty()) {
    send_suback(c, p.packet_id, sub_out_.codes);
    send_retained(c, sub_out_.send_retained);
    return;
  }
  // Waiting before asking: a refusal at once (backlogs) answers through on_subscribed.
  mc.subacks.push_back({p.packet_id, sub_out_.codes, sub_out_.send_retained});
  request_id_ = std::to_string(p.packet_id);
  if (router_.subscribe(subscriber_of(c), request_id_, sub_items_, cfg_.max_outbound_bytes) ==
      router::sub_status::done) {
    mqtt_pending_suback done = std::move(mc.subacks.back());
    mc.subacks.pop_back();
    send_suback(c, p.packet_id, done.codes);
    send_retained(c, done.retained);
  }
}

void mqtt_handler::on_subscribed(conn& c, const sub_outcome& outcome) {
  mqtt_conn& mc = *c.mqtt;
  const bool resumed = outcome.request_id == resume_request;
  if (mc.keeps_session) {
    // Where each tag stood when the subscription took effect (an exact tag's; a resumed
    // wildcard's tags, after their replay): a resume starts there for tags no message has
    // reached yet. (Replayed messages not acknowledged pull it back: snapshot_session.)
    for (const sub_position& p : outcome.positions) {
      if (p.gap) {
        // History no longer reaches back to the position (a tag's), or a wildcard passed
        // --max-recovery-tags or its held live messages' share (the pattern's own).
        metrics_.mqtt_resume_gaps.add();
      }
      if (!p.only_gap) {
        metrics_.mqtt_positions_forgotten.add(mc.session->delivered({p.tag, p.epoch, p.seq, 0}));
      }
    }
  }
  uint16_t packet_id = 0;
  if (!resumed && !read_packet_id(outcome.request_id, packet_id)) {
    return;
  }
  for (std::size_t i = 0; !resumed && i < mc.subacks.size(); ++i) {
    if (mc.subacks[i].packet_id != packet_id) {
      continue;
    }
    mqtt_pending_suback pending = std::move(mc.subacks[i]);
    mc.subacks.erase(mc.subacks.begin() + static_cast<std::ptrdiff_t>(i));
    if (!outcome.ok) {
      // The broker could not take the subscription (Redis away): say it per filter.
      for (mqtt::reason& code : pending.codes) {
        if (static_cast<uint8_t>(code) < 0x80) {
          code = mqtt::reason::unspecified_error;
        }
      }
    }
    send_suback(c, packet_id, pending.codes);
    if (outcome.ok && !send_retained(c, pending.retained)) {
      return;
    }
    break;
  }
  // A resume replays a tag once per subscription naming it (an exact filter and a wildcard
  // over it): each message goes once, in its tag's order. (Only a resume uses the table, so
  // only a resume pays for clearing it: clear() walks every bucket a large resume left.)
  if (resumed) {
    resume_sent_.clear();
  }
  for (message* m : outcome.messages) {
    if (resumed && !first_in_resume(*m)) {
      continue;
    }
    if (!c.open_as(conn_protocol::mqtt) || !deliver(c, *m)) {
      return;
    }
  }
}

bool mqtt_handler::first_in_resume(const message& m) {
  const auto [it, added] = resume_sent_.try_emplace(m.tag(), m.seq());
  if (added) {
    return true;
  }
  if (m.seq() <= it->second) {
    return false;
  }
  it->second = m.seq();
  return true;
}

void mqtt_handler::on_unsubscribe(conn& c, const mqtt::unsubscribe_packet& p) {
  mqtt_conn& mc = *c.mqtt;
  patterns_.clear();
  metrics_.mqtt_positions_released.add(mc.session->on_unsubscribe(p, codes_, patterns_));
  for (const std::string& pattern : patterns_) {
    router_.unsubscribe(subscriber_of(c), pattern);
  }
  const mqtt::protocol level = mc.wire.level;
  send(c, make_mqtt_frame(mc.wire.over_ws, mqtt::unsuback_size(level, codes_), [&](char* out) {
    mqtt::write_unsuback(out, level, p.packet_id, codes_);
  }));
}

void mqtt_handler::on_disconnect(conn& c, const mqtt::disconnect_packet& p) {
  const mqtt::reason verdict = c.mqtt->session->on_disconnect(p);
  c.mqtt->clean_end = verdict == mqtt::reason::success;
  close(c, verdict);
}

// ---- messages to the client ----

bool mqtt_handler::deliver(conn& c, message& m) {
  mqtt_conn& mc = *c.mqtt;
  if (!mc.session) {
    return true;  // not connected yet
  }
  const mqtt::message_meta& meta = meta_of(m);
  // Matched once per message: the plan travels with the delivery from here on. No Local
  // ([MQTT-3.8.3-3]) compares sessions, so it holds across connections and nodes.
  const bool own = meta.publisher != 0 && meta.publisher == mc.publisher;
  if (!mc.session->plan_delivery(m.tag(), own, plan_)) {
    return true;  // no subscription of this session matches (any more), or No Local
  }
  const mqtt::message_info info = info_of(meta, m);
  if (std::min(plan_.qos, info.qos) >= 1) {
    return offer_qos1(c, message_ref::share(&m), /*retained=*/false);
  }
  mqtt::outgoing_message om;
  if (!view_of(m, om)) {
    return true;  // the tag has no MQTT topic
  }
  mqtt::delivery d;
  if (!prepared(mc.session->prepare(om, plan_, info, false, unix_ms(), d))) {
    return true;
  }
  metrics_.deliveries.add();
  note_delivered(c, m);
  if (mqtt::uses_shared_frame(d)) {
    return host_.queue(c, mqtt_shared_publish(m, mc.wire, om));
  }
  return send_own(c, m, om, d);
}

bool mqtt_handler::offer_qos1(conn& c, message_ref m, bool retained) {
  using offer = mqtt::outbound_window<mqtt_outgoing>::offer_result;
  uint16_t packet_id = 0;
  switch (c.mqtt->window->offer(
      mqtt_outgoing{std::move(m), plan_.retain_as_published, retained, plan_.subscription_ids},
      packet_id)) {
    case offer::send:
      return send_in_flight(c, packet_id);
    case offer::queued:
      return true;
    case offer::full:
      metrics_.slow_consumer_closes.add();
      close(c, mqtt::reason::quota_exceeded, /*drop_unsent=*/true);
      return false;
  }
  return true;
}

bool mqtt_handler::send_own(conn& c, message& m, const mqtt::outgoing_message& om,
                            const mqtt::delivery& d) {
  // Two frames, gathered into one send: the delivery's own head, then the body every
  // delivery of this message (at this protocol level) shares.
  return send(c, mqtt_own_head(c.mqtt->wire, om, d)) &&
         host_.queue(c, mqtt_shared_body(m, om, c.mqtt->wire.level));
}

bool mqtt_handler::prepared(mqtt::prepare_result r) {
  switch (r) {
    case mqtt::prepare_result::send:
      return true;
    case mqtt::prepare_result::expired:
      metrics_.mqtt_messages_expired.add();  // [MQTT-3.3.2-5]
      return false;
    case mqtt::prepare_result::too_large:
      metrics_.mqtt_deliveries_dropped.add();
      return false;
  }
  return false;
}

const mqtt::message_meta& mqtt_handler::meta_of(message& m) {
  if (meta_message_.get() != &m) {
    // Once per message on this shard, whatever its number of subscribers. Metadata another
    // node wrote that does not read back is ignored (the defaults, no properties).
    meta_message_ = message_ref::share(&m);
    (void)mqtt::read_message_meta(m.meta(), meta_view_);
  }
  return meta_view_;
}

std::string_view mqtt_handler::write_meta(const mqtt::message_meta& meta) {
  mqtt::write_message_meta(meta, meta_);
  return meta_;
}

std::string_view mqtt_handler::write_meta(const mqtt::message_meta& meta,
                                          std::string_view properties) {
  mqtt::write_message_meta(meta, properties, meta_);
  return meta_;
}

bool mqtt_handler::view_of(message& m, mqtt::outgoing_message& om) {
  if (view_message_.get() != &m) {
    // A new message: its topic and payload once, for all its subscribers on this shard (a
    // message released from a QoS 1 queue later takes its payload from its cached body).
    // The reference keeps the message (and so the address compared above) alive meanwhile.
    view_message_ = message_ref::share(&m);
    view_ok_ = mqtt_view(m, meta_of(m).forwarded, view_topic_, view_payload_, view_);
  }
  om = view_;
  return view_ok_;
}

bool mqtt_handler::send_in_flight(conn& c, uint16_t packet_id) {
  mqtt_conn& mc = *c.mqtt;
  // A delivery that cannot go to this client (no topic, over its Maximum Packet Size) is
  // dropped as if delivered ([MQTT-3.1.2-25]) and its slot goes to the next one: a loop,
  // so that a run of such messages never recurses.
  while (true) {
    const mqtt_outgoing* out = mc.window->in_flight(packet_id);
    message& m = *out->m;
    plan_.qos = 1;
    plan_.retain_as_published = out->retain_as_published;
    plan_.subscription_ids.assign(out->subscription_ids.begin(), out->subscription_ids.end());
    mqtt::outgoing_message om;
    mqtt::delivery d;
    if (!view_of(m, om)) {
      metrics_.mqtt_deliveries_dropped.add();
    } else if (prepared(mc.session->prepare(om, plan_, info_of(meta_of(m), m), out->retained,
                                            unix_ms(), d))) {
      d.qos = 1;
      d.packet_id = packet_id;
      metrics_.deliveries.add();
      return send_own(c, m, om, d);
    }
    mqtt_outgoing dropped;
    mc.window->acknowledge(packet_id, dropped);
    if (mc.window->promote(packet_id) == nullptr) {
      return true;
    }
  }
}

void mqtt_handler::on_puback(conn& c, uint16_t packet_id) {
  mqtt_conn& mc = *c.mqtt;
  mqtt_outgoing acked;
  if (!mc.window->acknowledge(packet_id, acked)) {
    return;  // a stray or late PUBACK: MQTT says to ignore it
  }
  if (!acked.retained) {
    note_delivered(c, *acked.m);
  }
  uint16_t next_id = 0;
  while (mc.window->promote(next_id) != nullptr) {
    if (!send_in_flight(c, next_id)) {
      return;
    }
  }
}

}  // namespace wsa
