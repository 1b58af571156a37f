// A Redis Cluster client for one shard (https://redis.io/docs/reference/cluster-spec/): a
// command link per master, plus a subscriber link per master that serves a subscribed shard
// channel, all on the shard's ring.
//
// - Topology: CLUSTER SLOTS from the seeds, then from any reachable node; asked again after
//   a MOVED, a dropped or unreachable node, a moved channel, and periodically. Only numeric
//   addresses are followed (nothing resolves names on a shard).
// - Commands are routed by slot and pipelined per node. A MOVED points the slot at its new
//   master and resends; an ASK sends ASKING plus the command to the importing node, once;
//   TRYAGAIN (a slot mid-migration with a tag's keys split) resends after a short delay;
//   NOSCRIPT reloads the scripts and resends. Per slot, order is kept: once one command of
//   a slot is redirected, later commands of that slot wait until every earlier one has its
//   final answer (a "fence"), so two publishes of one tag never swap.
// - A command whose node drops is failed, never guessed at (as with one Redis).
// - Sharded pub/sub: SSUBSCRIBE on the master owning the channel's slot, so a node receives
//   only the channels it asked for. When the slot moves (Redis sends "sunsubscribe") or the
//   node's link drops, the owner hears on_channel_down, the channel is subscribed again where
//   the slot now lives, and on_channel_up says when messages flow again.
// Shard thread only.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ring.h"
#include "pubsub/string_map.h"
#include "redis/address.h"
#include "redis/link.h"
#include "redis/resp_reader.h"

namespace wsa {

struct cluster_options {
  std::vector<redis_address> seeds;  ///< resolved at startup; the rest is discovered
  link_options link;  ///< credentials, timeouts and backoff of every link (address ignored)
  int64_t refresh_interval_ms = 15000;  ///< CLUSTER SLOTS at least this often
  int64_t refresh_gap_ms = 100;         ///< ...and at most once per this (MOVED storms)
  /// Before resending after TRYAGAIN (a slot mid-migration): doubled every 16 answers, at
  /// most 200 ms apart...
  int64_t tryagain_delay_ms = 20;
  uint32_t max_tryagain = 127;  ///< ...at most this often (about 17 s: a stuck migration)
  int64_t resubscribe_delay_ms = 100;   ///< before subscribing again after a refusal
  uint32_t max_attempts = 8;            ///< MOVED / ASK / NOSCRIPT resends of one command
  uint32_t max_nodes = 256;             ///< distinct node addresses learnt from Redis
};

/// What the client did, for /metrics and tests.
struct cluster_stats {
  uint64_t moved = 0;           ///< MOVED replies followed
  uint64_t asked = 0;           ///< ASK replies followed
  uint64_t tryagain = 0;        ///< TRYAGAIN replies, resent after a delay
  uint64_t refreshes = 0;       ///< topologies applied
  uint64_t refresh_errors = 0;  ///< CLUSTER SLOTS refused or malformed
  uint64_t channel_moves = 0;   ///< subscribed channels whose slot moved
  uint64_t give_ups = 0;        ///< commands failed after too many redirections/TRYAGAIN
};

class cluster_owner {
 public:
  /// The final reply to a command (never a redirection: those are followed here).
  virtual void on_cluster_reply(const link_request& request, resp_view reply) = 0;
  /// The command will not be answered: its node's link dropped, the slot had no reachable
  /// master, or it was redirected too often. It may or may not have run.
  virtual void on_cluster_failed(const link_request& request) = 0;
  /// A message on a subscribed shard channel, from the node that owns its slot.
  virtual void on_shard_message(std::string_view channel, std::string_view payload) = 0;
  /// The channel's subscription is confirmed where its slot lives: messages flow from now on.
  /// After an on_channel_down, what was published in between was not delivered here.
  virtual void on_channel_up(std::string_view channel) = 0;
  /// The channel's live stream stopped (its slot moved, or its node's link dropped). It is
  /// subscribed again by itself.
  virtual void on_channel_down(std::string_view channel) = 0;
  /// Something for the operator's log: a refused topology, an unreachable node.
  virtual void on_cluster_note(std::string_view what) = 0;

 protected:
  ~cluster_owner() = default;
};

class cluster_client final : private link_owner {
 public:
  /// `link_request::kind` values from here up are the client's own; owners use lower ones.
  static constexpr uint32_t first_internal_kind = 0xfff00000u;

  cluster_client(ring& r, cluster_owner& owner, cluster_options options);
  ~cluster_client();
  cluster_client(const cluster_client&) = delete;
  cluster_client& operator=(const cluster_client&) = delete;

  /// Connects to the seeds and discovers the topology.
  void start();
  /// A Lua script every master must hold: loaded on each command link as it comes up (and
  /// again on NOSCRIPT). Returns its SHA1 in hex, for EVALSHA. Call before start().
  std::string add_script(std::string_view lua);

  /// Every slot has a master whose command link is up.
  bool ready() const;

  /// Building a command for `slot` in place: append its RESP to *begin(slot), then commit()
  /// (no other call in between). nullptr: no route now (the slot has no known master, or its
  /// link is down): the request fails at once, and nothing may be committed.
  std::string* begin(uint16_t slot);
  void commit(const link_request& request);
  /// Bytes of commands queued, being sent or kept for a resend on the command link of
  /// `slot`'s master (0 when it has none): what the owner bounds, per node, so that a
  /// frozen master refuses only its own slots' commands.
  std::size_t backlog_bytes(uint16_t slot) const;
  /// begin + append + commit. False (nothing sent) when there is no route.
  bool send(uint16_t slot, const link_request& request,
            std::initializer_list<std::string_view> args);

  /// Sharded pub/sub on `channel` (a key name: its slot decides the node). Idempotent.
  void subscribe(std::string_view channel);
  void unsubscribe(std::string_view channel);
  /// Messages of `channel` flow now (its subscription is confirmed).
  bool subscribed(std::string_view channel) const;
  /// A PING on the subscriber link carrying `channel`: its reply comes after every message
  /// that node sent on the channel before. False when the channel is not subscribed now.
  bool ping_channel(std::string_view channel, const link_request& request);

  /// Once per loop turn: links' timers and sends, topology refreshes, delayed resends,
  /// pending subscriptions, retiring links of nodes that no longer serve slots.
  void poll();
  /// A completion of kind io_op::link; ignored unless it belongs to one of these links.
  void on_completion(const completion& c);

  /// Asks for the topology again soon.
  void refresh() { refresh_wanted_ = true; }
  /// "ip:port" of the master the map gives for `slot`; empty when unknown.
  std::string node_of(uint16_t slot) const;
  const cluster_stats& stats() const { return stats_; }
  /// Links to nodes that are up now (command and subscriber links).
  std::size_t links_up() const;

 private:
  static constexpr uint16_t no_node = 0xffff;
  enum internal_kind : uint32_t {
    slots_request = first_internal_kind,
    asking_request,
    script_request,
    ssubscribe_request,
    sunsubscribe_request,
  };
  // link_request::route of owner requests: the slot, how often it was redirected and how
  // often refused with TRYAGAIN, and whether it went on a subscriber link (a channel PING,
  // outside any slot's order).
  static constexpr uint32_t route_slot_mask = 0x3fff;
  static constexpr uint32_t route_asked = 1u << 14;  // sent to an importing node after ASKING
  static constexpr unsigned route_attempts_shift = 16;  // 8 bits
  static constexpr unsigned route_tryagain_shift = 24;  // 7 bits
  static constexpr uint32_t route_on_subscriber = 1u << 31;

  struct node {
    redis_address address;
    std::string id;
    uint32_t slots = 0;  // how many the map gives it
    bool seed = false;
    std::unique_ptr<link> commands;
    std::unique_ptr<link> subscriber;
  };
  // A command set aside: redirected (to resend) or held behind redirected ones.
  struct parked_command {
    link_request request;
    std::string bytes;
    bool ask = false;  // resend to ask_node, after ASKING
    uint16_t ask_node = no_node;
    int64_t give_up_ms = 0;  // its target link still connecting past this: fail it
  };
  struct slot_fence {
    std::vector<parked_command> retry;    // redirected, in the order their replies came
    std::vector<parked_command> waiting;  // committed meanwhile, in order
    int64_t retry_at_ms = 0;
  };
  struct channel_state {
    uint16_t slot = 0;
    uint16_t node = no_node;  // where the SSUBSCRIBE went (in flight or confirmed)
    bool confirmed = false;
    bool wanted = true;
    uint64_t token = 0;  // of the SSUBSCRIBE in flight; 0: none
    uint32_t refusals = 0;
    int64_t retry_at_ms = 0;
  };
  // Channels are named after tags, which clients choose: a seeded hash.
  using channel_map = string_map<channel_state>;

  // link_owner
  void on_link_up(link& l) override;
  void on_link_down(link& l, std::string_view why) override;
  void on_link_failed(link& l, std::string_view why) override;
  void on_reply(link& l, const link_request& request, resp_view reply,
                std::string_view command) override;
  void on_failed(link& l, const link_request& request) override;
  void on_push(link& l, resp_view push) override;

  // nodes and topology (cluster_topology.cpp)
  uint16_t node_index(const link& l, bool& subscriber) const;
  uint16_t find_or_add_node(const redis_address& address);
  uint16_t node_at(std::string_view host, uint16_t port, uint16_t answering);
  // The node's command or subscriber link, created and started on first use.
  link& node_link(uint16_t n, bool subscriber);
  link& command_link(uint16_t n) { return node_link(n, false); }
  link& subscriber_link(uint16_t n) { return node_link(n, true); }
  void send_refresh(int64_t now_ms);
  void apply_topology(uint16_t asked, resp_view reply);
  void assign_slot(uint16_t slot, uint16_t n);
  void retire_idle_nodes();
  void note(std::string_view what);

  // commands (cluster_client.cpp)
  void on_internal_reply(uint16_t n, const link_request& request, resp_view reply);
  bool follow_error(uint16_t n, const link_request& request, std::string_view error,
                    std::string_view command);
  void settle(uint16_t slot);
  bool send_parked(uint16_t slot, std::vector<parked_command>& list, slot_fence& f);
  bool resend(uint16_t slot, parked_command& p);
  void fail_owner(const link_request& request);
  void load_scripts(link& l);

  // sharded subscriptions (cluster_channels.cpp)
  void try_subscribe(std::string_view name, channel_state& c, int64_t now_ms);
  void subscribe_pending(int64_t now_ms);
  void on_ssubscribe_reply(uint16_t n, const link_request& request, resp_view reply);
  void channel_down(std::string_view name, channel_state& c);
  void notify_downs();
  void channels_of_node_down(uint16_t n);
  void send_sunsubscribe(uint16_t n, std::string_view name);

  ring& ring_;
  cluster_owner& owner_;
  const cluster_options options_;
  std::vector<std::string> scripts_;

  std::vector<node> nodes_;
  std::vector<uint16_t> slot_node_;      // per slot: index into nodes_, or no_node
  std::vector<uint16_t> new_slot_node_;  // scratch of apply_topology
  std::vector<uint32_t> outstanding_;    // per slot: owner commands sent, not yet answered
  std::unordered_map<uint16_t, slot_fence> fences_;
  std::vector<uint16_t> settle_scratch_;
  uint32_t unserved_slots_ = 0;
  bool have_map_ = false;
  bool retire_due_ = false;

  bool refresh_wanted_ = true;
  bool refresh_in_flight_ = false;
  int64_t next_refresh_ms_ = 0;      // earliest wanted refresh
  int64_t periodic_refresh_ms_ = 0;  // the periodic one
  uint16_t refresh_cursor_ = 0;

  channel_map channels_;
  std::unordered_map<uint64_t, std::string> subscribing_;  // SSUBSCRIBE token -> channel
  uint64_t next_token_ = 1;
  bool channels_dirty_ = false;
  std::vector<std::string> downs_;  // channels whose on_channel_down is due

  // begin()/commit() in between
  uint16_t building_slot_ = 0;
  link* building_link_ = nullptr;  // nullptr: into held_ (the slot is fenced)
  std::string held_;

  int64_t now_ms_ = 0;
  cluster_stats stats_;
};

}  // namespace wsa
