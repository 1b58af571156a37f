// The server's MQTT bounds: every input a client controls has one (docs/mqtt.md lists them
// with what a client gets when it passes one). One value per server, shared by its sessions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wsa::mqtt {

struct limits {
  /// Largest packet accepted (fixed header included); 5.0 clients are told in CONNACK.
  uint32_t max_packet_size = 1024 * 1024;
  /// QoS 1 and 2 PUBLISHes a client may have unacknowledged (5.0 Receive Maximum, told in
  /// CONNACK; a 3.1.1 client past it is closed).
  uint16_t receive_maximum = 64;
  /// QoS 1 deliveries in flight per session, waiting for PUBACK (capped further by a 5.0
  /// client's own Receive Maximum).
  uint16_t max_inflight = 32;
  /// Deliveries queued behind a full in-flight window, per session.
  uint32_t max_pending = 1000;
  /// Topic aliases a 5.0 client may set (told in CONNACK); 0 turns them off.
  uint16_t topic_alias_maximum = 16;
  /// Topic aliases the server assigns per 5.0 session (capped by the client's maximum).
  /// Off by default: libmosquitto 2.0 and paho-python 1.6 announce a maximum when asked to
  /// but cannot read a PUBLISH whose topic is left to an alias (Mosquitto's broker sends
  /// none either).
  uint16_t max_outbound_aliases = 0;
  /// Session expiry cap in seconds; a 3.1.1 persistent session (which MQTT keeps forever)
  /// gets this, and a 5.0 client asking for more is told this in CONNACK.
  uint32_t max_session_expiry = 7 * 24 * 3600;
  /// Keep-alive the server imposes on 5.0 clients that ask for none or for longer (Server
  /// Keep Alive in CONNACK); 0 accepts the client's value.
  uint16_t max_keep_alive = 0;
  /// Silence allowed from a client that asks for keep-alive 0 (the server's idle timeout;
  /// 5.0 clients are told a Server Keep Alive within it); 0: unbounded.
  uint32_t idle_timeout_ms = 0;
  /// Client identifiers: 1 to this many bytes of printable ASCII.
  uint16_t max_client_id = 128;
  /// Topic filters held per session.
  uint32_t max_subscriptions = 100;
  /// Exact tags whose last acknowledged seq a session remembers (others resume by time).
  uint32_t max_positions = 1000;
  /// Will payload bytes.
  uint32_t max_will_payload = 65535;  // MQTT's own maximum (a two-byte length)
  /// Bytes of the 5.0 properties a PUBLISH (or a will) carries to subscribers: user
  /// properties, content type, payload format indicator, response topic, correlation data.
  /// Kept with the message in every history and retained copy (broker/message.h meta, at
  /// most 65535 bytes with its header).
  uint32_t max_forwarded_properties = 8192;
};

}  // namespace wsa::mqtt
