// Protocol v1 over WebSocket (docs/protocol.md "Client to server", "Server to client"):
// frames in through a pooled wslay session, commands parsed and checked (permissions,
// limits), handed to the router; the router's answers and messages go out as protocol v1
// frames. It acts on its connections only through conn_host, and on pub/sub only through
// the router. An MQTT handler would be a sibling of this one, not a branch inside it.
//
// Connection life: on_open (after the upgrade) -> on_bytes... -> on_closed (whoever ends
// it). The shard calls on_deadline (the auth timeout), on_sweep (idle pings, token
// expiry), on_overflow (a slow consumer) and on_drain (SIGTERM). One per shard; shard
// thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.h"
#include "json/command.h"
#include "net/token_bucket.h"
#include "obs/metrics.h"
#include "router/router.h"
#include "server/conn_host.h"
#include "ws/session.h"
#include "ws/session_pool.h"
#include "wsa/config.h"

namespace wsa {

/// A request `id` longer than this is refused (`bad_request`) and never echoed back.
inline constexpr std::size_t max_request_id_bytes = 128;

/// What `hello` lists as "features" (protocol 1.1): exactly the additions this server
/// implements, so that a client uses only those.
inline constexpr std::string_view protocol_features =
    R"(["ts","presence","idem","latest","pattern-since","gap","reconnect"])";

/// hello's features on this node: protocol_features less what its broker cannot serve
/// (Redis Cluster refuses patterns, hence pattern-since: docs/redis-cluster.md "Patterns").
std::string served_features(const config& cfg);

class token_gate;

/// A connection's name in `hello` ("c-" and its node-unique id in hex), and in presence.
std::string conn_name(uint64_t id);

class ws_v1_handler final : private ws_sink {
 public:
  ws_v1_handler(conn_host& host, router& r, token_gate& gate, command_parser& parser,
                const config& cfg, shard_metrics& metrics, std::string_view node_id,
                std::string_view node_epoch);
  ~ws_v1_handler();
  ws_v1_handler(const ws_v1_handler&) = delete;
  ws_v1_handler& operator=(const ws_v1_handler&) = delete;

  // ---- connection life (called by the shard) ----

  /// The upgrade succeeded: `hello`, the auth deadline if no token came with the upgrade,
  /// then any bytes that followed the request head.
  void on_open(conn& c, std::string_view early);
  void on_bytes(conn& c, const char* data, std::size_t size);
  /// The auth timeout passed without an `auth` frame.
  void on_deadline(conn& c);
  /// A few times per idle timeout: token expiry, idle pings, silent peers.
  void on_sweep(conn& c, int64_t now_ms, int64_t unix_now);
  /// The outbound bound was passed: close as a slow consumer (4008).
  void on_overflow(conn& c);
  /// The node drains: the client is sent `{"op":"reconnect","within_ms":N}` (PROTOCOL
  /// "Draining"), the connection reads no new request and is closed with 1001 once its
  /// publishes and subs in flight are answered.
  void on_drain(conn& c, uint32_t reconnect_within_ms);
  /// The connection left the open state, whoever ended it.
  void on_closed(conn& c);

  /// Verifies `token` and gives `c` its permissions and expiry (replacing earlier ones);
  /// subscriptions the new permissions do not allow end. Also used by the upgrade.
  token_status authenticate(conn& c, std::string_view token, std::string_view where);

  // ---- the router's answers for this handler's connections ----

  /// A live message: its cached `msg` frame, queued. False if the connection closed.
  bool deliver(conn& c, message& m);
  void on_published(conn& c, std::string_view request_id, const publish_outcome& outcome);
  void on_subscribed(conn& c, const sub_outcome& outcome);
  void on_stream_gap(conn& c, std::string_view key);
  /// Protocol 1.1 presence (ws_v1_presence.cpp): the answer to `presence`, and a join/leave
  /// of another connection on a tag `c` asked events of.
  void on_presence_listed(conn& c, std::string_view request_id, const presence_outcome& outcome);
  /// A join or leave frame (a reference the caller drops), made once per event and shared by
  /// every watcher, as message frames are.
  frame* presence_event_frame(bool joined, std::string_view tag, std::string_view who);
  void send_presence_event(conn& c, frame* event);

 private:
  // ws_sink
  bool on_ws_message(void* owner, ws_opcode opcode, char* data, std::size_t size,
                     std::size_t capacity) override;
  void on_ws_output(void* owner, const char* data, std::size_t size) override;
  bool on_ws_pong(void* owner) override;
  /// A frame that is no command (binary, invalid, a pong nobody asked for): answered with
  /// `err code` (none for a pong) within --invalid-frame-rate, else closed with 1008.
  /// False when it is closed.
  bool refuse_frame(conn& c, std::string_view id, std::string_view code,
                    std::string_view reason);

  /// Ends the WebSocket with a close frame; drop_unsent for slow consumers. queue_frame is
  /// false when wslay already queued the close frame (its reply or its protocol error).
  void close(conn& c, uint16_t code, std::string_view reason, bool drop_unsent,
             bool queue_frame = true);
  void release_session(conn& c);
  /// Draining: closes with 1001 once every request the connection made has been answered.
  void close_when_answered(conn& c);

  void send_json(conn& c, std::string_view json);
  void send_ok(conn& c, std::string_view id);
  void send_err(conn& c, std::string_view id, std::string_view code, std::string_view reason);

  // commands (ws_v1_commands.cpp)
  void on_command(conn& c, const command& cmd);
  void on_auth(conn& c, const command& cmd);
  void on_pub(conn& c, const command& cmd);
  void on_sub(conn& c, const command& cmd);
  void on_unsub(conn& c, const command& cmd);
  void on_presence(conn& c, const command& cmd);
  /// Makes `c` a presence member (its key and who) before its first exact subscription.
  void presence_identify(conn& c);
  /// Permission checks; on refusal the `err forbidden` is sent and false returned.
  bool may_publish(conn& c, const command& cmd);
  bool may_subscribe(conn& c, const command& cmd);
  /// Takes a token from `bucket`; without one, answers `err rate_limited` and counts it.
  bool within_rate(conn& c, const command& cmd, token_bucket& bucket, const rate_limit& limit,
                   counter& refusals, std::string_view refusal);
  /// A sub/unsub naming more than twice as many tags (or `since` entries, repeats
  /// included) as a connection may hold is refused before any other work.
  bool within_tag_limit(conn& c, const command& cmd);

  conn_host& host_;
  router& router_;
  token_gate& gate_;
  command_parser& parser_;
  const config& cfg_;
  shard_metrics& metrics_;
  const std::string node_id_;
  const std::string features_;  // served_features()
  /// This process among the nodes, for presence member keys: the node id and its epoch
  /// (drawn at start), so that two processes with one id, or a restart, never share one.
  const std::string presence_node_;
  command command_;                        // reused for every frame
  ws_session_pool session_pool_;           // detached wslay contexts, reused
  ws_session* feeding_ = nullptr;          // the session inside feed(): not released there
  std::string scratch_;                    // JSON replies being built
  std::vector<sub_item> sub_items_;        // a sub's keys for the router (reused)
  std::vector<std::string_view> since_scratch_;  // a sub's `since` tags (reused)
  std::vector<known_position> known_scratch_;    // its patterns' known positions (reused)
  frame* ping_frame_ = nullptr;  // the idle ping, shared by every connection
  // Per-connection rate limits, from the configuration.
  const rate_limit pub_rate_;
  const rate_limit sub_rate_;
  const rate_limit auth_rate_;
  const rate_limit invalid_rate_;
};

}  // namespace wsa
