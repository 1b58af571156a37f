// MQTT 3.1.1 and 5.0 for devices (docs/mqtt.md): a sibling of the WebSocket v1 handler,
// serving connections accepted on --mqtt-listen (MQTT over TCP) and WebSocket upgrades at
// /mqtt with subprotocol `mqtt` (MQTT over WebSocket). Packets are decoded and judged by
// src/mqtt (decoder, session logic); publishes and subscriptions go through the router like
// a WebSocket client's, so both kinds of clients share one tag space, one permission model
// (the token's perm.pub / perm.sub) and one cluster. It acts on its connections only
// through conn_host.
//
// Connection life: on_open -> on_bytes... -> on_closed (whoever ends it, the will is
// published then unless a DISCONNECT with reason 0 came). The shard calls on_deadline (no
// CONNECT in time), on_sweep (keep-alive, token expiry), on_overflow (a slow consumer) and
// on_drain (SIGTERM). One per shard; shard thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/retained_store.h"
#include "broker/session_store.h"
#include "handlers/mqtt_conn.h"
#include "handlers/mqtt_records.h"
#include "mqtt/limits.h"
#include "mqtt/message_meta.h"
#include "net/token_bucket.h"
#include "obs/metrics.h"
#include "pubsub/string_map.h"
#include "router/router.h"
#include "server/conn_host.h"
#include "ws/session.h"
#include "ws/session_pool.h"
#include "wsa/config.h"

namespace wsa {

class token_gate;

/// The server's MQTT limits from its options.
mqtt::limits mqtt_limits_of(const config& cfg);

class mqtt_handler final : private ws_sink {
 public:
  /// `store`: where sessions are shared with other nodes (the Redis broker's); nullptr:
  /// they stay on this node.
  mqtt_handler(conn_host& host, router& r, mail_port& mail, token_gate& gate,
               const config& cfg, shard_metrics& metrics, unsigned shard, unsigned shards,
               session_store* store = nullptr);
  ~mqtt_handler();
  mqtt_handler(const mqtt_handler&) = delete;
  mqtt_handler& operator=(const mqtt_handler&) = delete;

  // ---- connection life (called by the shard) ----

  /// A new MQTT connection: over TCP (accepted on --mqtt-listen), or over WebSocket after
  /// the /mqtt upgrade with the bytes that followed the request head.
  void on_open(conn& c, bool over_ws, std::string_view early = {});
  void on_bytes(conn& c, const char* data, std::size_t size);
  /// No CONNECT in time.
  void on_deadline(conn& c);
  /// About once a second: keep-alive and token expiry.
  void on_sweep(conn& c, int64_t now_ms, int64_t unix_now);
  void on_overflow(conn& c);
  void on_drain(conn& c);
  void on_closed(conn& c);
  /// Whether the shard is to stop reading `c` (beyond its output bound).
  bool input_blocked(const conn& c) const;

  // ---- the router's answers ----

  /// A live message for a subscriber. False if the connection closed.
  bool deliver(conn& c, message& m);
  void on_published(conn& c, std::string_view request_id, const publish_outcome& outcome);
  void on_subscribed(conn& c, const sub_outcome& outcome);

  /// A record of another shard's MQTT handler (type >= mqtt_records::base).
  void on_record(unsigned from, uint32_t type, std::string_view bytes);
  /// An answer or request of the session store (sessions across nodes).
  void on_session_event(session_event& e);

  /// The cluster's retained messages (Redis; shard 0): a change (empty data: cleared), and
  /// the start of a whole set. Applied here and sent to the other shards.
  void on_broker_retained(message& m);
  void on_broker_retained_reset();

 private:
  // ws_sink (MQTT over WebSocket: one binary message holds MQTT bytes)
  bool on_ws_message(void* owner, ws_opcode opcode, char* data, std::size_t size,
                     std::size_t capacity) override;
  void on_ws_output(void* owner, const char* data, std::size_t size) override;

  static subscriber_id subscriber_of(const conn& c) { return {c.slot, c.generation}; }
  void feed(conn& c, std::string_view input);
  void on_packet(conn& c, const mqtt::packet& p);
  void on_connect(conn& c, const mqtt::connect_packet& p);
  void on_publish(conn& c, const mqtt::publish_packet& p);
  void on_puback(conn& c, uint16_t packet_id);
  void on_subscribe(conn& c, const mqtt::subscribe_packet& p);
  void on_unsubscribe(conn& c, const mqtt::unsubscribe_packet& p);
  void on_disconnect(conn& c, const mqtt::disconnect_packet& p);
  void on_decode_error(conn& c, const mqtt::decode_error& err);

  /// A QoS 1 delivery of `m` as plan_ says, into the session's window (sent now, or
  /// queued; a full queue closes a slow consumer). False if the connection closed.
  bool offer_qos1(conn& c, message_ref m, bool retained);
  /// Sends the QoS 1 delivery in flight under `packet_id` (dropping undeliverable ones and
  /// sending the next instead). False if the connection closed.
  bool send_in_flight(conn& c, uint16_t packet_id);
  /// `m`'s topic and payload (false: its tag has no topic), worked out once per message.
  bool view_of(message& m, mqtt::outgoing_message& om);
  /// The publisher's metadata of `m` (read once per message; malformed: the defaults).
  const mqtt::message_meta& meta_of(message& m);
  /// Encodes `meta` into meta_ and returns it; with `properties` (a PUBLISH's block), the
  /// forwarded ones are copied from there.
  std::string_view write_meta(const mqtt::message_meta& meta);
  std::string_view write_meta(const mqtt::message_meta& meta, std::string_view properties);
  /// Whether session::prepare's answer sends the delivery (what does not is counted).
  bool prepared(mqtt::prepare_result r);
  /// A delivery with a head of its own, followed by the message's shared body.
  bool send_own(conn& c, message& m, const mqtt::outgoing_message& om,
                const mqtt::delivery& d);
  void send_suback(conn& c, uint16_t packet_id, std::span<const mqtt::reason> codes);
  /// Retained messages (mqtt_retained.cpp).
  /// A retained PUBLISH the router took: `tag`'s retained message on every shard (empty
  /// `data`: cleared); `meta` as write_meta wrote it from `qos` and `expiry_s`.
  void keep_retained(std::string_view tag, std::string_view data, std::string_view meta,
                     uint8_t qos, uint32_t expiry_s);
  /// This shard's copy takes `r` (its Message Expiry, read from its metadata here when not
  /// given, is kept with it: a delivery reads no metadata).
  retained_store::put_result apply_retained(const mqtt_records::retain& r, bool origin,
                                            std::optional<uint32_t> expiry_s = {});
  /// `record` to every other shard of the node.
  template <class Record>
  void to_other_shards(const Record& record);
  void reset_retained();
  /// Sends the retained messages of `filters` after their SUBACK. False if `c` closed.
  bool send_retained(conn& c, std::span<const mqtt::filter_patterns> filters);
  bool deliver_retained(conn& c, const retained_store::entry& e);
  /// Session takeover (mqtt_takeover.cpp).
  /// Handles `r` here when `shard` is this one, else posts it to that shard's handler.
  template <class Record>
  void run_or_post(unsigned shard, const Record& r);
  template <class Record>
  void to_session_owner(conn& c, Record r);
  void claim_session(conn& c);
  void release_session(conn& c);
  void on_claim(unsigned from, const mqtt_records::claim& r);
  void on_release(unsigned from, const mqtt_records::release& r);
  void on_take_over(const mqtt_records::take_over& t);
  /// Persistent sessions (mqtt_sessions.cpp).
  struct session_place {
    unsigned shard = 0;
    uint32_t slot = 0;
    uint32_t generation = 0;
    bool operator==(const session_place&) const = default;
  };
  /// The key's owner: the stored session for a claim (or none, or refused), told to the
  /// claiming connection's shard.
  void answer_claim(std::string_view key, session_place who, uint8_t flags);
  /// The same through the session store (Redis): answered by on_session_event.
  void claim_from_store(std::string_view key, session_place who, uint8_t flags);
  /// The key's owner: a connection of `key` ended, keeping `session` for `expiry_s`.
  void keep_session(std::string_view key, session_place who, uint32_t expiry_s,
                    std::string_view session);
  /// The connection's shard: the owner's answer; CONNACK, resume, held packets.
  void on_resume(const mqtt_records::resume& r);
  void resume_session(conn& c, std::string_view encoded);
  /// The session's state to keep as its connection ends (empty: none to keep).
  void snapshot_session(conn& c, uint32_t& expiry_s, std::string& out);
  /// The request id of a resume's subscribe: SUBSCRIBEs' are their packet ids in decimal
  /// (read_packet_id), which this never is.
  static constexpr std::string_view resume_request = "resume";
  /// Whether `m` is not a repeat of a message this resume's answer already carried.
  bool first_in_resume(const message& m);
  /// A delivered (QoS 0 written, QoS 1 acknowledged) message moves a kept session's position.
  void note_delivered(conn& c, const message& m);
  void send_ack(conn& c, mqtt::packet_type type, const mqtt::ack_fields& ack);
  void send_connack(conn& c, mqtt::protocol level, const mqtt::connack_fields& f);
  bool send(conn& c, frame* f);
  /// Ends the connection; a 5.0 client is told `code` in a DISCONNECT first (unless
  /// success: a plain close).
  void close(conn& c, mqtt::reason code, bool drop_unsent = false);
  void publish_will(conn& c);
  bool may_publish(const conn& c, std::string_view tag) const;
  bool may_subscribe(const conn& c, std::string_view pattern) const;

  conn_host& host_;
  router& router_;
  mail_port& mail_;
  token_gate& gate_;
  const config& cfg_;
  shard_metrics& metrics_;
  const mqtt::limits limits_;
  const rate_limit pub_rate_;  // --pub-rate / --pub-burst, as for WebSocket `pub`
  const rate_limit sub_rate_;  // --sub-rate / --sub-burst, as for `sub`
  const unsigned shard_;
  const unsigned shards_;
  retained_store retained_;  // this shard's replica of the node's retained messages
  // The open connection of each session key this shard owns (router/owner.h hash), and its
  // holder token in the session store (empty without one, or until the store answers).
  struct holder {
    session_place place;
    std::string token;
  };
  string_map<holder> holders_;
  // Claims waiting for the session store, by ticket.
  struct store_claim {
    uint64_t ticket = 0;
    std::string key;
    session_place who;
    std::string token;
  };
  session_store* const store_;
  std::vector<store_claim> store_claims_;
  uint64_t next_ticket_ = 0;
  // The persistent sessions of the keys this shard owns: connected (`holder`), or kept until
  // `expires_at_ms` (wall clock) with their encoded session_record, and then in expiring_
  // (`expiry`). A claim that finds the session still held by an older connection waits for
  // its release (`waiting`).
  using expiry_index = std::multimap<int64_t, std::string_view>;
  struct stored_session {
    session_place holder;
    bool connected = false;
    std::string record;
    int64_t expires_at_ms = 0;
    expiry_index::iterator expiry;  // valid while not connected
    bool has_waiting = false;
    session_place waiting;
    uint8_t waiting_flags = 0;
  };
  string_map<stored_session> sessions_;
  // The kept sessions by expiry (views of sessions_' keys): the bounds drop the expired ones
  // without a scan, and a CONNECT refused at a bound costs no more than a look at the first.
  expiry_index expiring_;
  const std::size_t max_sessions_;  // this shard's share of --mqtt-max-sessions
  const uint64_t max_session_bytes_;  // ...and of --mqtt-max-session-bytes
  uint64_t session_bytes_ = 0;        // what sessions_ holds (session_cost of each)
  /// What a stored session costs in bytes: its key, record and bookkeeping.
  static uint64_t session_cost(std::string_view key, const stored_session& s) {
    return key.size() + s.record.size() + sizeof(stored_session) + 64;
  }
  /// Erases a stored session, keeping session_bytes_, expiring_ and the gauges true.
  void erase_session(string_map<stored_session>::iterator it);
  /// Erases the sessions whose expiry has passed at `now_ms` (wall clock).
  void drop_expired(int64_t now_ms);
  /// Erases a session at the end of its connection, answering the claim waiting for it.
  void end_session(string_map<stored_session>::iterator it, std::string_view key);
  uint64_t retained_count_ = 0;  // retained PUBLISHes taken here: their order among the shards'
  uint64_t next_client_id_ = 0;
  ws_session_pool ws_pool_;        // MQTT over WebSocket: wslay contexts, attached mid-message
  ws_session* feeding_ = nullptr;  // the session inside feed(): on_bytes releases it after
  // Reused between calls.
  mqtt::packet packet_;
  mqtt::subscribe_outcome sub_out_;
  mqtt::delivery_plan plan_;
  std::vector<sub_item> sub_items_;
  std::vector<known_position> known_;  // a resume's pattern positions (sub_item::known)
  // A resume's messages sent, per tag the newest seq (first_in_resume).
  std::unordered_map<std::string_view, uint64_t, seeded_string_hash> resume_sent_;
  std::vector<mqtt::reason> codes_;
  std::vector<std::string> patterns_;
  std::string scratch_;
  std::string meta_;  // a PUBLISH's metadata (mqtt/message_meta.h)
  // The last message's metadata (meta_of) and MQTT view (view_of).
  message_ref meta_message_;
  mqtt::message_meta meta_view_;
  message_ref view_message_;
  mqtt::outgoing_message view_;
  std::string view_topic_;
  std::string view_payload_;
  bool view_ok_ = false;
  std::string request_id_;
};

}  // namespace wsa
