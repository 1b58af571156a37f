// Session logic. See session.h.
#include "mqtt/session.h"

#include <algorithm>

#include "util/check.h"
#include "util/utf8.h"

namespace wsa::mqtt {

session::session(const session_params& params, const limits& lim, int64_t now_ms,
                 std::string session_key)
    : params_(params),
      limits_(lim),
      session_key_(session_key.empty() ? params.client_id : std::move(session_key)),
      last_packet_ms_(now_ms),
      inbound_(params.receive_maximum),
      inbound_aliases_(params.inbound_alias_maximum),
      outbound_aliases_(params.outbound_alias_maximum),
      subs_(lim.max_subscriptions),
      positions_(lim.max_positions) {
  params_.token = {};  // a view into the CONNECT packet, gone after it
}

void session::restore(const session_record& r, std::vector<std::string>& patterns) {
  for (const stored_subscription& s : r.subscriptions) {
    subs_.add(s.filter, s.options, patterns);
  }
  positions_.restore(r);
  for (const subscription& s : subs_.all()) {
    if (s.exact) {
      positions_.pin(s.patterns.first);
    }
  }
  inbound_.restore(r.qos2_held, r.next_reception);
}

int64_t session::keep_alive_deadline_ms() const {
  return params_.keep_alive_deadline_ms == 0 ? 0 : last_packet_ms_ + params_.keep_alive_deadline_ms;
}

bool session::keep_alive_expired(int64_t now_ms) const {
  const int64_t deadline = keep_alive_deadline_ms();
  return deadline != 0 && now_ms >= deadline;
}

publish_decision session::on_publish(const publish_packet& p, permit_ref may_publish) {
  publish_decision d;
  const bool v5 = params_.level == protocol::v5;
  auto refuse = [&](reason code, const char* why) {
    // 5.0 answers a refused QoS 1/2 PUBLISH in its acknowledgement; otherwise the only way
    // to say it is to close (3.1.1 section 3.3.5 allows that; silence would lose it).
    d.what =
        v5 && p.qos > 0 ? publish_decision::action::refuse_ack : publish_decision::action::close;
    d.code = code;
    d.why = why;
    return d;
  };
  auto close = [&](reason code, const char* why) {
    d.what = publish_decision::action::close;
    d.code = code;
    d.why = why;
    return d;
  };

  switch (inbound_aliases_.resolve(p.topic, p.props.topic_alias, d.tag)) {
    case inbound_aliases::result::ok:
      break;
    case inbound_aliases::result::alias_invalid:
      return close(reason::topic_alias_invalid, "topic alias above the maximum");
    case inbound_aliases::result::alias_unknown:
      return close(reason::protocol_error, "empty topic with an unknown topic alias");
    case inbound_aliases::result::topic_invalid:
      return close(reason::topic_name_invalid, "the topic maps to no tag");
  }
  if (v5 && p.props.payload_format_indicator == 1 && !valid_utf8(p.payload)) {
    return refuse(reason::payload_format_invalid, "payload format 1 but not UTF-8");
  }
  if (v5 && !p.props.raw.empty() &&
      forwarded_properties_size(p.props.raw) > limits_.max_forwarded_properties) {
    // They would be kept with the message wherever it is kept (histories, retained).
    return refuse(reason::quota_exceeded, "properties to forward too large");
  }
  if (!may_publish(d.tag)) {
    return refuse(reason::not_authorized, "no publish permission for the tag");
  }
  if (p.qos > 0) {
    uint64_t number = 0;
    switch (inbound_.on_publish(p.qos, p.packet_id, v5, number)) {
      case inbound_flow::verdict::exceeded:
        return close(reason::receive_maximum_exceeded, "more than the receive maximum");
      case inbound_flow::verdict::duplicate:
        d.duplicate = true;
        break;
      case inbound_flow::verdict::publish:
        break;
    }
    if (p.qos == 2) {
      d.idem_key = qos2_idem_key(session_key_, number);
    }
  }
  return d;
}

ack_fields session::publish_done(uint8_t qos, uint16_t packet_id, reason code) {
  if (qos == 1) {
    inbound_.qos1_done();
  } else if (static_cast<uint8_t>(code) >= 0x80) {
    inbound_.on_pubrel(packet_id);  // a failed PUBREC ends the exchange: no PUBREL follows
  }
  return {packet_id, code};
}

ack_fields session::on_pubrel(uint16_t packet_id) {
  const bool held = inbound_.on_pubrel(packet_id);
  // 3.1.1 has no reason codes: PUBCOMP either way, which is what the client needs to go on.
  return {packet_id, held || params_.level != protocol::v5 ? reason::success
                                                           : reason::packet_identifier_not_found};
}

void session::on_subscribe(const subscribe_packet& p, permit_ref may_subscribe,
                           subscribe_outcome& out, const permit_ref* served) {
  out.codes.clear();
  out.new_patterns.clear();
  out.send_retained.clear();
  const bool v5 = params_.level == protocol::v5;
  for (const subscription_request& r : p.entries) {
    filter_patterns patterns;
    const bool mapped = filter_to_patterns(r.filter, patterns);
    // A filter maps to one pattern or two (`a/#` is `a` and `a.>`): each must pass.
    const auto every_pattern = [&](const permit_ref& ok) {
      return ok(patterns.first) && (patterns.second.empty() || ok(patterns.second));
    };
    if (mapped && !every_pattern(may_subscribe)) {
      out.codes.push_back(reason::not_authorized);
      continue;
    }
    if (served != nullptr && mapped && r.filter.find_first_of("+#") != std::string_view::npos &&
        !every_pattern(*served)) {
      out.codes.push_back(reason::wildcard_subscriptions_not_supported);
      continue;
    }
    const subscription_options options{r.max_qos, r.no_local, r.retain_as_published,
                                       r.retain_handling, p.props.subscription_identifier};
    const auto result = subs_.add(r.filter, options, out.new_patterns);
    out.codes.push_back(suback_reason(result, options));
    const bool added = result == subscription_set::add_result::added;
    if (!added && result != subscription_set::add_result::replaced) {
      continue;
    }
    if (added && subs_.all().back().exact) {
      positions_.pin(subs_.all().back().patterns.first);  // (a wildcard reached it before)
    }
    // Retained messages: 3.1.1 always; 5.0 by Retain Handling (0 always, 1 if new, 2 never).
    if (!v5 || r.retain_handling == 0 || (r.retain_handling == 1 && added)) {
      out.send_retained.push_back(patterns);
    }
  }
}

uint32_t session::on_unsubscribe(const unsubscribe_packet& p, std::vector<reason>& codes,
                                 std::vector<std::string>& dropped_patterns) {
  codes.clear();
  uint32_t released = 0;
  for (const std::string_view filter : p.filters) {
    const subscription* s = subs_.find(filter);
    // An exact filter pinned its tag's position: unpinned, or dropped when nothing else
    // reaches the tag (a SUBSCRIBE/UNSUBSCRIBE loop over new topics must not grow it). No
    // other exact filter is to the tag: filters are unique, and an exact one is its tag.
    const std::string exact_tag = s != nullptr && s->exact ? s->patterns.first : std::string();
    const bool removed = subs_.remove(filter, dropped_patterns);
    codes.push_back(removed ? reason::success : reason::no_subscription_existed);
    if (removed && !exact_tag.empty()) {
      WSA_ASSERT(!subs_.has_exact(exact_tag));
      released += positions_.unpin(exact_tag, subs_.plan(exact_tag, false, plan_scratch_));
    }
  }
  return released;
}

reason session::on_disconnect(const disconnect_packet& p) {
  if (p.props.has(property_id::session_expiry_interval)) {
    if (params_.session_expiry == 0 && p.props.session_expiry_interval != 0) {
      return reason::protocol_error;  // 5.0 [MQTT-3.14.2-2]
    }
    params_.session_expiry = std::min(p.props.session_expiry_interval, limits_.max_session_expiry);
  }
  will_cleared_ = p.code == reason::success;  // 0x04 and every error keep the will
  return reason::success;
}

connection_end session::on_connection_end(bool normal) const {
  connection_end e;
  e.session_expiry_ms = int64_t{params_.session_expiry} * 1000;
  e.publish_will = params_.has_will && !(normal && will_cleared_);
  if (e.publish_will) {
    // The will waits for its delay, but never past the session's end (5.0 section 3.1.3.2.2).
    e.will_delay_ms = int64_t{std::min(params_.will.delay_interval, params_.session_expiry)} * 1000;
  }
  return e;
}

bool session::plan_delivery(std::string_view tag, bool from_this_client,
                            delivery_plan& plan) const {
  return subs_.plan(tag, from_this_client, plan);
}

prepare_result session::prepare(const outgoing_message& m, const delivery_plan& plan,
                                const message_info& info, bool retained, int64_t now_ms,
                                delivery& d) {
  const bool v5 = params_.level == protocol::v5;
  d = delivery{};
  d.qos = std::min(plan.qos, info.qos);
  d.retain = retained || (info.retain && v5 && plan.retain_as_published);
  if (info.expiry_s > 0) {
    const int64_t waited_s = std::max<int64_t>(0, now_ms - info.published_ms) / 1000;
    if (waited_s >= info.expiry_s) {
      return prepare_result::expired;  // [MQTT-3.3.2-5]
    }
    if (v5) {
      d.has_message_expiry = true;
      d.message_expiry_interval =
          static_cast<uint32_t>(info.expiry_s - waited_s);  // [MQTT-3.3.2-6]
    }
  }
  if (v5) {
    d.subscription_ids = plan.subscription_ids;
  }
  const uint64_t max =
      params_.client_max_packet_size == 0 ? UINT64_MAX : params_.client_max_packet_size;
  const std::size_t size = head_size(params_.level, m, d) + body_size(params_.level, m);
  if (size > max) {
    return prepare_result::too_large;
  }
  // An alias is assigned only to a packet that fits with it (a new alias travels with its
  // topic, 3 bytes more): an alias the client never received would break later packets.
  if (v5 && size + 3 <= max) {
    bool send_topic = true;
    d.topic_alias = outbound_aliases_.assign(m.topic, send_topic);
    d.omit_topic = d.topic_alias != 0 && !send_topic;
  }
  return prepare_result::send;
}

session_record session::snapshot(std::span<const message_position> unacked,
                                 int64_t ended_at_ms) const {
  session_record r;
  r.level = params_.level;
  r.expiry_interval = params_.session_expiry;
  r.ended_at_ms = ended_at_ms;
  r.next_reception = inbound_.next_number();
  r.qos2_held = inbound_.held();
  for (const subscription& s : subs_.all()) {
    r.subscriptions.push_back({s.filter, s.options});
  }
  positions_.snapshot(unacked, r);
  return r;
}

}  // namespace wsa::mqtt
