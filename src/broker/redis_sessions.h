// The Redis broker's MQTT session store (broker/session_store.h; docs/mqtt.md "Sessions
// across nodes"). What lives in Redis, per session key K (the braces are a Redis Cluster
// hash tag; the space keeps these names apart from every tag's, which has none):
//   wsa:{ s:K}  HASH  r = the encoded session_record (absent: nothing stored yet)
//                     h = the holder token of the live connection (absent: detached)
//                     w, f = a claim waiting for the handoff of holder f (token w)
//               Its TTL: the session's expiry once detached; while held, the longest
//               expiry (limits::max_session_expiry), so that a node that dies with the
//               session live leaves it behind for a bounded time, renewed by its holder at
//               a third of it (refresh) for as long as the connection lives.
//   wsa:{ m:I}  CHANNEL  the control channel of store instance I (one per shard and process,
//                     random): "t <token> <K>" asks the holder token's shard to close its
//                     connection of K (takeover); "r <token> <K>" tells a waiting claim that
//                     the older holder's final state is in r (handoff).
// A claim takes the key (h = its token); an older holder is told to close, and unless the
// claim is clean it waits (w, f) for that holder's detach, which writes r and answers
// "handed" rather than ending the session; then the waiting claim reads r (take). A holder
// that does not detach within handoff_timeout_ms (its node died, or Redis lost the message)
// is given up: the claim reads what r holds then, counted (wsagent_mqtt_handoff_timeouts).
// Claims wait for the first confirmation of the store's control channel before they reach
// Redis, so that no takeover request can be sent to a holder that cannot hear it yet.
// Each operation is one EVALSHA of redis_session_script on the key's slot.
// Shard thread only.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/session_store.h"
#include "pubsub/string_map.h"
#include "redis/link.h"

namespace wsa {

class redis_broker;
class resp_view;

/// EVALSHA <sha> 1 <session key> <op> <args...>:
///   claim  <token> <clean 1|0> <keep 1|0> <live ttl ms>   -> [old holder|'', record|'', wait 1|0]
///   take   <token>                                        -> [record|'']
///   detach <token> <record> <has record 1|0> <ttl ms (0: end)> <live ttl ms>
///                                                         -> [0 nothing | 1 kept | 2 handed, waiter]
///   refresh <token> <live ttl ms>               -> [1 renewed | 0 not the holder, token]
extern const std::string_view redis_session_script;
inline constexpr std::string_view redis_session_prefix = "wsa:{ s:";
inline constexpr std::string_view redis_control_prefix = "wsa:{ m:";

/// How long a claim waits for an older holder on another node to hand its session over.
inline constexpr int64_t handoff_timeout_ms = 2000;

class redis_session_store final : public session_store {
 public:
  /// `held_ttl_ms`: a held session record's TTL in Redis (0: limits::max_session_expiry).
  redis_session_store(redis_broker& broker, uint64_t seed, uint64_t held_ttl_ms = 0);

  std::string claim(std::string_view key, bool clean, bool keep, uint64_t ticket) override;
  void forget(uint64_t ticket) override;
  void detach(std::string_view key, std::string_view token, std::string_view record,
              uint32_t expiry_s) override;

  // ---- from the broker ----

  /// This store's control channel, subscribed by the broker once the store has minted a
  /// holder token (a node without MQTT clients subscribes to nothing more).
  const std::string& channel() const { return channel_; }
  bool channel_wanted() const { return channel_wanted_; }
  /// The reply to a session command (request.kind is the broker's session kind).
  void on_reply(const link_request& request, resp_view reply);
  /// A session command that will never be answered (link down) or could not be sent.
  void on_failed(const link_request& request);
  /// The control channel's SUBSCRIBE is confirmed: claims held until then go out.
  void on_control_subscribed();
  /// Claims held for that confirmation go out now (the subscriber link went down).
  void send_held();
  /// A message on this store's control channel.
  void on_control(std::string_view payload);
  /// Handoffs past their deadline; held sessions' TTLs due for renewal.
  void poll(int64_t now_ms);

  enum op : uint32_t { op_claim = 1, op_take, op_detach, op_publish, op_refresh };

 private:
  struct pending_claim {
    uint64_t ticket = 0;
    std::string key;
    std::string token;
    bool live = true;        // forgotten: its connection ended, no event
    bool held = false;       // not sent yet: the control channel is not confirmed
    bool clean = false;
    bool keep = false;
    bool waiting = false;    // for an older holder's handoff
    bool timed_out = false;
    int64_t deadline_ms = 0;
  };
  pending_claim* find(uint64_t ticket);
  void answer(pending_claim& c, bool ok, std::string_view record, bool handed);
  void erase(uint64_t ticket);
  /// EVALSHA for `key` with `args` after the key; false when it could not be sent.
  bool run(op o, uint64_t ticket, std::string_view key,
           std::initializer_list<std::string_view> args);
  void send_claim(pending_claim& c);
  void take(pending_claim& c);
  /// "<kind> <token> <key>" on the control channel of `token`'s store.
  void tell(char kind, std::string_view token, std::string_view key);
  void failed(uint64_t ticket);

  /// A session held by a connection of this store, from its claim to its detach.
  struct held_session {
    std::string key;
    int64_t due_ms = 0;  // its next TTL renewal
  };
  void hold(const std::string& token, std::string_view key, int64_t due_ms);
  void release(std::string_view token);
  /// Renews the TTLs due (a bounded number per call; the rest at the next).
  void refresh_due(int64_t now_ms);

  redis_broker& broker_;
  uint64_t held_ttl_ms_;
  std::string held_ttl_text_;                           // held_ttl_ms_ in decimal, built once
  string_map<held_session> held_;                       // by holder token
  std::set<std::pair<int64_t, std::string>> held_due_;  // (due_ms, token), soonest first
  std::string instance_;
  std::string channel_;
  uint64_t next_token_ = 0;
  bool channel_wanted_ = false;
  bool channel_confirmed_ = false;
  std::vector<pending_claim> claims_;  // few at a time: CONNECTs in flight
  std::string key_scratch_;
  std::string payload_scratch_;
};

}  // namespace wsa
