// An MQTT session's logic, with no I/O and time passed in: what each packet from the client
// leads to, what each message for the client becomes, keep-alive, the will, and the state
// kept across connections. The wiring reads packets (decoder.h), asks this class, performs
// what it answers (publishing, subscribing the broker to patterns, writing packets with
// encoder.h/publish.h), and owns the QoS 1 outbound window (outbound.h) beside it.
//
// Permission checks are the caller's predicate on a tag or pattern (from the token's
// perm.pub / perm.sub), so that MQTT and WebSocket clients share one permission model.
//
// One per session, on the shard that owns its connection; not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/connect.h"
#include "mqtt/encoder.h"
#include "mqtt/inbound.h"
#include "mqtt/packet.h"
#include "mqtt/publish.h"
#include "mqtt/session_record.h"
#include "mqtt/subscriptions.h"
#include "mqtt/topic_alias.h"

namespace wsa::mqtt {

/// A non-owning reference to a predicate on a tag or pattern: no allocation, no virtual.
class permit_ref {
 public:
  template <class F>
  permit_ref(F& f)  // NOLINT: implicit on purpose, like std::function_ref
      : object_(&f), call_([](void* o, std::string_view s) { return (*static_cast<F*>(o))(s); }) {}
  bool operator()(std::string_view s) const { return call_(object_, s); }

 private:
  void* object_;
  bool (*call_)(void*, std::string_view);
};

/// What to do with a PUBLISH from the client.
struct publish_decision {
  enum class action : uint8_t {
    publish,     ///< publish `tag`; answer with publish_done() once the broker answered
    refuse_ack,  ///< 5.0, QoS 1/2: answer PUBACK/PUBREC with `code` now; publish nothing
    close,       ///< close the connection (5.0: DISCONNECT with `code` first)
  };
  action what = action::publish;
  reason code = reason::success;
  const char* why = "";
  std::string_view tag;    ///< publish: valid until the next call on this session
  bool duplicate = false;  ///< a QoS 2 retransmission: publish again with the same idem key
  std::string idem_key;    ///< QoS 2: the `idem` key of this reception
};

/// What a SUBSCRIBE leads to.
struct subscribe_outcome {
  std::vector<reason> codes;              ///< SUBACK, one per entry
  std::vector<std::string> new_patterns;  ///< subscribe the broker to these
  /// Entries whose retained messages are to be sent now (their patterns), in order.
  std::vector<filter_patterns> send_retained;
};

/// What a message carries besides its bytes that matters to MQTT deliveries (the broker keeps
/// it with the message).
struct message_info {
  uint8_t qos = 1;           ///< the QoS it was published with (WebSocket publishes: 1)
  bool retain = false;       ///< published with the retain flag
  uint32_t expiry_s = 0;     ///< the publisher's Message Expiry Interval; 0: none
  int64_t published_ms = 0;  ///< wall clock of the publication (`ts`)
};

/// How one message goes out to this client, or why it does not.
enum class prepare_result : uint8_t { send, expired, too_large };

/// What the end of a connection leads to.
struct connection_end {
  bool publish_will = false;
  int64_t will_delay_ms = 0;      ///< publish the will this long after the end
  int64_t session_expiry_ms = 0;  ///< keep the session this long; 0: discard it now
};

class session {
 public:
  /// `session_key` names the session in the store and in idem keys (for example the token's
  /// subject and the client identifier); empty: the client identifier.
  session(const session_params& params, const limits& lim, int64_t now_ms,
          std::string session_key = {});

  const session_params& params() const { return params_; }
  const std::string& session_key() const { return session_key_; }

  /// Resuming a stored session: its subscriptions (the patterns to subscribe the broker
  /// to are appended to `patterns`), positions and QoS 2 state.
  void restore(const session_record& r, std::vector<std::string>& patterns);

  // Keep-alive (monotonic milliseconds). Any packet from the client counts.
  void packet_received(int64_t now_ms) { last_packet_ms_ = now_ms; }
  /// When the connection is to be closed for silence; 0: never.
  int64_t keep_alive_deadline_ms() const;
  bool keep_alive_expired(int64_t now_ms) const;

  // From the client.
  publish_decision on_publish(const publish_packet& p, permit_ref may_publish);
  /// The broker answered a publish (`code` success once it has a seq, else the failure):
  /// the PUBACK (QoS 1) or PUBREC (QoS 2) to send.
  ack_fields publish_done(uint8_t qos, uint16_t packet_id, reason code);
  /// PUBREL: the PUBCOMP to send.
  ack_fields on_pubrel(uint16_t packet_id);
  /// Stop reading the socket while true (the client has the Receive Maximum unanswered).
  bool reading_paused() const { return inbound_.saturated(); }

  /// `served` (when given): whether the broker serves a wildcard filter's pattern (Redis
  /// Cluster does not serve one starting with a wildcard); not: Wildcard Subscriptions not
  /// supported (0xA2; 3.1.1 0x80).
  void on_subscribe(const subscribe_packet& p, permit_ref may_subscribe, subscribe_outcome& out,
                    const permit_ref* served = nullptr);
  /// UNSUBACK codes (5.0) and the patterns the broker no longer needs for this session.
  /// Returns how many tag positions were dropped: an exact filter's, which no other
  /// subscription reaches (wsagent_mqtt_positions_released).
  uint32_t on_unsubscribe(const unsubscribe_packet& p, std::vector<reason>& codes,
                          std::vector<std::string>& dropped_patterns);

  /// DISCONNECT from the client: success, or protocol_error for a session expiry raised
  /// from 0 (the server then answers DISCONNECT protocol_error, and the will is published).
  reason on_disconnect(const disconnect_packet& p);
  /// The connection ended: cleanly after a DISCONNECT with reason 0 (`normal`), or not.
  connection_end on_connection_end(bool normal) const;

  // To the client.
  /// Whether a message on `tag` reaches this client (false: no subscription matches it
  /// any more, or No Local), and with which QoS and subscription identifiers.
  bool plan_delivery(std::string_view tag, bool from_this_client, delivery_plan& plan) const;

  /// Fills `d` for a delivery of `m` planned by `plan`, right before it is written (topic
  /// aliases are assigned in the order packets go out). `retained`: a retained message sent
  /// on subscribe. `now_ms`: wall clock, as `message_info::published_ms`. `too_large`: the
  /// client's Maximum Packet Size forbids it; MQTT then drops it as if delivered
  /// ([MQTT-3.1.2-25]).
  prepare_result prepare(const outgoing_message& m, const delivery_plan& plan,
                         const message_info& info, bool retained, int64_t now_ms, delivery& d);

  /// A message was delivered (QoS 0 written, QoS 1 acknowledged): its tag's position
  /// advances, whichever subscription reached it (an exact one's is never forgotten; a
  /// wildcard's resumes its tags by position too). Returns the positions forgotten to make
  /// room (counted by the caller).
  uint32_t delivered(const message_position& p) {
    return positions_.advance(p, [&] { return subs_.has_exact(p.tag); });
  }
  /// A SUBSCRIBE took effect at `now_ms` (wall clock): a wildcard's resume starts there at
  /// the earliest, for tags nothing reached.
  void subscribed(int64_t now_ms) { positions_.subscribed(now_ms); }

  /// The persistent state now. `unacked`: positions of the messages in flight or queued.
  session_record snapshot(std::span<const message_position> unacked, int64_t ended_at_ms) const;

  const subscription_set& subscriptions() const { return subs_; }

 private:
  session_params params_;
  limits limits_;
  std::string session_key_;
  int64_t last_packet_ms_;
  bool will_cleared_ = false;
  inbound_flow inbound_;
  inbound_aliases inbound_aliases_;
  outbound_aliases outbound_aliases_;
  subscription_set subs_;
  position_tracker positions_;
  delivery_plan plan_scratch_;  // on_unsubscribe's "does anything still reach the tag"
};

}  // namespace wsa::mqtt
