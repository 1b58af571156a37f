// CONNECT negotiation (MQTT 3.1.1 section 3.1, 5.0 section 3.1 and 3.2). See connect.h.
#include "mqtt/connect.h"

#include <algorithm>

#include "mqtt/properties.h"
#include "mqtt/topic.h"
#include "util/utf8.h"

namespace wsa::mqtt {

bool is_valid_client_id(std::string_view id, std::size_t max) {
  if (id.empty() || id.size() > max) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x21 && u <= 0x7e;
  });
}

namespace {

bool read_will(const connect_packet& c, const limits& lim, will_message& w, reason& code,
               const char*& what) {
  if (!topic_to_tag(c.will_topic, w.tag)) {
    code = reason::topic_name_invalid;
    what = "the will topic maps to no tag";
    return false;
  }
  if (c.will_payload.size() > lim.max_will_payload) {
    code = reason::quota_exceeded;
    what = "will payload too large";
    return false;
  }
  const properties& p = c.will_props;
  if (forwarded_properties_size(p.raw) > lim.max_forwarded_properties) {
    code = reason::quota_exceeded;
    what = "will properties too large";
    return false;
  }
  if (p.payload_format_indicator == 1 && !valid_utf8(c.will_payload)) {
    code = reason::payload_format_invalid;
    what = "will payload is not UTF-8";
    return false;
  }
  w.payload.assign(c.will_payload);
  w.qos = c.will_qos;
  w.retain = c.will_retain;
  w.delay_interval = p.will_delay_interval;
  w.has_message_expiry = p.has(property_id::message_expiry_interval);
  w.message_expiry_interval = p.message_expiry_interval;
  w.forwarded_properties.resize(forwarded_properties_size(p.raw));
  copy_forwarded_properties(p.raw, w.forwarded_properties.data());
  return true;
}

}  // namespace

connect_outcome negotiate(const connect_packet& c, const limits& lim,
                          std::string_view fresh_client_id) {
  connect_outcome o;
  session_params& s = o.params;
  const bool v5 = c.level == protocol::v5;
  s.level = c.level;
  s.clean_start = c.clean_start;
  auto refuse = [&](reason code, const char* what) {
    o.code = code;
    o.what = what;
    o.connack = connack_fields{};
    o.connack.code = code;
    o.connack.reason_string = v5 ? what : "";  // always allowed in CONNACK [MQTT-3.1.2-29]
    return o;
  };

  if (v5 && c.props.has(property_id::authentication_method)) {
    return refuse(reason::bad_authentication_method, "enhanced authentication is not supported");
  }
  if (c.client_id.empty()) {
    if (!v5 && !c.clean_start) {  // [MQTT-3.1.3-8]
      return refuse(reason::client_identifier_not_valid,
                    "an empty client identifier needs a clean session");
    }
    s.client_id.assign(fresh_client_id);
    s.client_id_assigned = true;
  } else if (!is_valid_client_id(c.client_id, lim.max_client_id)) {
    return refuse(reason::client_identifier_not_valid,
                  "client identifier must be 1 to max_client_id bytes of printable ASCII");
  } else {
    s.client_id.assign(c.client_id);
  }
  if (c.will) {
    reason code = reason::success;
    const char* what = "";
    if (!read_will(c, lim, s.will, code, what)) {
      return refuse(code, what);
    }
    s.has_will = true;
  }

  if (v5) {
    s.session_expiry = std::min(c.props.session_expiry_interval, lim.max_session_expiry);
    if (s.session_expiry != c.props.session_expiry_interval) {
      o.connack.has_session_expiry = true;  // the client asked for more than we keep
      o.connack.session_expiry_interval = s.session_expiry;
    }
  } else {
    s.session_expiry = c.clean_start ? 0 : lim.max_session_expiry;
  }

  s.keep_alive = c.keep_alive;
  if (v5 && lim.max_keep_alive != 0 && (s.keep_alive == 0 || s.keep_alive > lim.max_keep_alive)) {
    s.keep_alive = lim.max_keep_alive;
    o.connack.has_server_keep_alive = true;
    o.connack.server_keep_alive = s.keep_alive;
  }
  s.keep_alive_deadline_ms = int64_t{s.keep_alive} * 1500;  // [MQTT-3.1.2-24]
  if (s.keep_alive == 0 && lim.idle_timeout_ms != 0) {
    // Keep-alive 0 would let a silent (or half-open) connection live for ever: the server's
    // idle timeout bounds it. 5.0 clients are told a keep-alive that fits in it (Server
    // Keep Alive, so they send PINGREQ); 3.1.1 has no way to say it.
    if (v5) {
      s.keep_alive = static_cast<uint16_t>(
          std::clamp<uint32_t>(lim.idle_timeout_ms / 1500, 1, UINT16_MAX));
      s.keep_alive_deadline_ms = int64_t{s.keep_alive} * 1500;
      o.connack.has_server_keep_alive = true;
      o.connack.server_keep_alive = s.keep_alive;
    } else {
      s.keep_alive_deadline_ms = lim.idle_timeout_ms;
    }
  }

  const uint16_t client_receive_maximum = v5 ? c.props.receive_maximum : 65535;
  s.outbound_window = std::max<uint16_t>(1, std::min(client_receive_maximum, lim.max_inflight));
  s.client_max_packet_size = v5 ? c.props.maximum_packet_size : 0;
  s.outbound_alias_maximum =
      v5 ? std::min(c.props.topic_alias_maximum, lim.max_outbound_aliases) : 0;
  s.inbound_alias_maximum = v5 ? lim.topic_alias_maximum : 0;
  s.receive_maximum = std::max<uint16_t>(1, lim.receive_maximum);  // 0 is no valid answer
  s.problem_information = !v5 || c.props.request_problem_information != 0;
  if (c.has_password) {
    s.token = c.password;
  }

  o.connack.code = reason::success;
  if (v5) {
    o.connack.receive_maximum = s.receive_maximum;
    o.connack.maximum_packet_size = lim.max_packet_size;
    o.connack.topic_alias_maximum = lim.topic_alias_maximum;
  }
  return o;
}

connack_fields connack_for(const connect_outcome& o, bool session_present) {
  connack_fields f = o.connack;
  f.session_present = o.code == reason::success && session_present;  // [MQTT-3.2.2-6]
  if (o.code == reason::success && o.params.level == protocol::v5 && o.params.client_id_assigned) {
    f.assigned_client_id = o.params.client_id;
  }
  return f;
}

}  // namespace wsa::mqtt
