// The Redis broker (docs/architecture.md "Many nodes: the Redis broker"): many nodes share
// tags through one Redis.
// One instance per shard, for the tags that shard owns, with two connections on the
// shard's ring: a command link (publish and query scripts, pipelined) and a subscriber
// link (SUBSCRIBE/PSUBSCRIBE). What lives in Redis is described in redis_scripts.h.
//
// - publish: one EVALSHA assigns the seq, appends to the history and PUBLISHes, atomically;
//   `published` comes with the reply (never before), or fails with "unavailable".
// - live messages come only from Redis (a node's own publishes too, so nothing is delivered
//   twice), in seq order per tag. After the subscriber link reconnects, or on a seq jump,
//   the broker reads what the live stream missed from the history and delivers it first
//   (live messages meanwhile are held), so a tag's `message` events stay gap-free where
//   the history allows; gaps it cannot fill are counted (live_gaps()) and reported (a
//   `stream_gap` event, in stream order). Patterns have no history to read from: after
//   their subscription was down, each watched pattern is reported with a `stream_gap` once
//   it is live again. A tag's messages come in the `exact` scope, a pattern's in the
//   `patterns` scope (delivery_scope).
// - query for a watched tag is sent only once the tag's SUBSCRIBE is confirmed, and its
//   answer is held until every live message up to its top has been delivered (a PING on
//   the subscriber link is the barrier), which is what the shard's merge relies on.
// - ready(): both links up, the scripts loaded, and every subscription of the last
//   (re)connection confirmed, so that a node that says ready really receives what is
//   published from then on. Requests while the command link is down
//   fail at once; requests pending when a link drops fail then.
// Shard thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "broker/announce_cache.h"
#include "broker/broker.h"
#include "broker/pattern_set.h"
#include "broker/presence_table.h"
#include "broker/redis_sessions.h"
#include "core/ring.h"
#include "obs/log_limiter.h"
#include "obs/metrics.h"
#include "pubsub/string_map.h"
#include "redis/cluster_client.h"
#include "redis/link.h"
#include "redis/sentinel.h"
#include "util/xorshift.h"

namespace wsa {

struct redis_broker_options {
  link_options link;             ///< address, credentials, database, timeouts, backoff
  uint32_t history_size = 256;   ///< messages kept per tag (0: none)
  uint32_t history_max_age_s = 0;  ///< also drop history older than this (0: no age limit)
  uint32_t key_ttl_s = 86400;    ///< a tag's keys expire after this long without use
  uint32_t max_patterns = 64;    ///< distinct PSUBSCRIBEs; past it, one catch-all glob
  /// Messages larger than this (another node may allow more) are dropped and counted: this
  /// node could not carry them to its subscribers.
  uint32_t max_data_bytes = 64 * 1024;
  /// Past this many bytes of commands queued or awaiting replies, publishes and queries are
  /// refused at once (unavailable) until Redis catches up.
  uint64_t max_backlog_bytes = 64 * 1024 * 1024;
  /// Sentinel (redis-sentinel://): the master is asked of these sentinels and followed
  /// after a failover (link.address is then unused); the links check ROLE before use, and
  /// every tag takes a new epoch on a master that is not the one it was last written on
  /// (docs/redis-cluster.md "What Sentinel promises").
  std::optional<sentinel_options> sentinel;
  /// Redis Cluster (redis-cluster://): commands go to the master of the tag's slot, live
  /// messages come over sharded pub/sub; a pattern pulls in its tags' channels (at most
  /// max_recovery_tags per pattern; redis_cluster_patterns.cpp), patterns starting with a
  /// wildcard are refused (link is unused but for its credentials and timeouts, which these
  /// options carry).
  std::optional<cluster_options> cluster;
  /// Before a publish's `ok`, wait until this many replicas have it (Redis WAIT, one per
  /// loop turn's batch); fewer within wait_timeout_ms: `unavailable`. 0: do not wait.
  uint32_t wait_replicas = 0;
  uint32_t wait_timeout_ms = 1000;
  uint64_t idem_window_ms = 300000;  ///< how long an idem key is kept (its key's PX)
  /// Pattern recovery (protocol 1.1): tags replayed per pattern (--max-recovery-tags); the
  /// tag registry keeps twice as many per first segment (at least 1024).
  uint32_t max_recovery_tags = 1000;
  /// Protocol 1.1 presence: this node's name among the nodes ("<node id>/<epoch>", as in
  /// its members' keys) and how soon its members leave once it stops refreshing them.
  std::string presence_node;
  uint32_t presence_ttl_ms = 30000;
  /// This broker brings the cluster's retained messages to its node (one per node: shard
  /// 0's): it subscribes to their channel and loads them whenever it (re)connects.
  bool retained_channel = false;
  /// Bytes of retained changes held while the set is read (each charged its tag, data,
  /// metadata and 128 B): past it they are dropped and the set is read again.
  uint64_t retained_hold_max_bytes = 16 * 1024 * 1024;
  /// A held MQTT session record's TTL in Redis, renewed at half of it (0: 7 days; tests).
  uint64_t session_held_ttl_ms = 0;
};

class redis_broker final : public broker,
                           private link_owner,
                           private sentinel_owner,
                           private cluster_owner {
 public:
  /// Starts connecting at once; its links' operations go on `r`.
  redis_broker(broker_events& results, ring& r, redis_broker_options options,
               shard_metrics& metrics);
  ~redis_broker() override;

  void publish(const publish_request& request) override;
  void query(std::string_view tag, const since_request& since, uint64_t ticket) override;
  void query_pattern(const pattern_since_request& request, uint64_t ticket) override;
  void watch(std::string_view tag) override;
  void unwatch(std::string_view tag) override;
  void presence_join(std::string_view tag, std::string_view member,
                     std::string_view who) override;
  void presence_leave(std::string_view tag, std::string_view member) override;
  void presence_query(std::string_view tag, uint32_t limit, uint64_t max_bytes,
                      uint64_t ticket) override;
  bool ready() const override;
  bool pattern_streams() const override { return true; }
  const char* pattern_refusal(std::string_view pattern, bool since) const override;
  /// On every mode: on Redis Cluster in the slot of {ret}, changes on a sharded channel.
  bool shares_retained() const override { return true; }
  void retain(const retain_request& request) override;
  void poll() override;
  void pause_live(bool paused) override { subscriber_.set_reading_paused(paused); }
  void on_completion(const completion& c) override;
  session_store* sessions() override { return sessions_.get(); }

  /// Live-stream gaps the history could not fill (trimmed, or the tag's state was lost).
  uint64_t live_gaps() const { return live_gaps_; }
  /// Sentinel: masters named after the first (0 without Sentinel).
  uint64_t master_switches() const { return sentinel_ ? sentinel_->switches() : 0; }

 private:
  // link_request::kind of the broker's requests (0 belongs to the link itself).
  enum request_kind : uint32_t {
    load_publish = 1,
    load_query,
    publish_cmd,
    query_cmd,
    subscribe_cmd,
    unsubscribe_cmd,
    psubscribe_cmd,
    punsubscribe_cmd,
    barrier_cmd,
    resubscribed_cmd,  // a PING after the re-subscriptions: all confirmed when answered
    replid_cmd,        // INFO replication: which master's history this connection sees
    wait_cmd,          // WAIT after a batch of publishes (wait_replicas)
    load_candidates,   // SCRIPT LOAD of the pattern recovery's registry read
    candidates_cmd,    // that read (token: the recovery's id)
    load_presence,
    presence_cmd,        // a presence change (join, leave, resync, refresh): reply unused
    presence_query_cmd,  // a presence query: token = the ticket
    load_retain,       // SCRIPT LOAD of the retained messages' script
    retain_cmd,        // a retained message kept (or cleared) for the cluster
    retained_sub_cmd,  // SUBSCRIBE to the retained messages' channel (retained_channel)
    retained_load_cmd,  // HGETALL of every retained message
    load_session,      // SCRIPT LOAD of the MQTT session script (redis_sessions.h)
    session_cmd,       // the session store's commands (aux: its op)
    control_subscribe_cmd,  // SUBSCRIBE to the session store's control channel
    registry_cmd,      // cluster: a pattern's read of its first segment's registry
    announce_cmd,      // cluster: a tag announced to its first segment (token: the ticket)
    load_publish_batch,  // SCRIPT LOAD of the batch publish script
    publish_batch_cmd,   // several publishes of one tag (aux: its index in batches_)
  };
  friend class redis_session_store;
  static constexpr uint32_t retried_bit = 0x80000000u;  // in aux: resent after NOSCRIPT
  /// In a cluster publish's aux: its tag is due to be announced once the publish is stored.
  static constexpr uint32_t announce_bit = 0x40000000u;
  /// A batch publish call's index in batches_ (its aux without the bits above).
  static uint32_t batch_index(const link_request& request) {
    return request.aux & ~(retried_bit | announce_bit);
  }

  struct deferred_query {
    bool since_present;
    uint64_t since_seq;
    std::string since_epoch;
    uint64_t max_bytes;
    uint64_t ticket;
  };
  struct held_message {
    message_ref msg;
    std::string epoch;
  };
  // An exact tag the owner watches: its subscription, and how far its live stream has been
  // delivered (`known`: delivered/epoch mean something).
  struct exact_watch {
    uint64_t token = 0;  // of the SUBSCRIBE whose confirmation counts
    bool confirmed = false;
    bool known = false;
    uint64_t delivered = 0;
    std::string epoch;
    bool resyncing = false;       // a history read fills a hole; live messages are held
    bool resync_waiting = false;  // ...and waits for the command link
    uint64_t resync_token = 0;
    std::vector<held_message> held;
    std::vector<deferred_query> deferred;
    bool exact = true;    // a subscriber of the tag itself (else only patterns pulled it in)
    bool pulled = false;  // cluster: watched patterns match it (its messages reach them)
  };
  // Cluster: a watched pattern (its first segment literal) and the tags it pulled in.
  struct cluster_pattern {
    // Pulled tags it matches, whoever pulled them (a tag is pulled while a matching pattern
    // has fewer than max_recovery_tags), and those of them whose channel is not up yet.
    uint32_t tags = 0;
    uint32_t unconfirmed = 0;
    bool over = false;      // a matching tag was left out: its gap was reported
    bool read = false;      // its registry read answered
    bool reading = false;   // a registry read is in flight
    // Queries answered once its tags' channels are up (second: a pattern `since`, answered
    // with the pattern's gap: recovery on patterns is not served on a cluster).
    std::vector<std::pair<uint64_t, bool>> waiting;
  };
  // Cluster: a first segment some watched pattern starts with; its announce channel.
  struct cluster_segment {
    std::vector<std::string> patterns;  // the watched patterns it starts
    // The tags starting with it that patterns pulled in (what an unwatch walks).
    std::unordered_set<std::string, seeded_string_hash, std::equal_to<>> tags;
    bool up = false;    // its announce channel is subscribed
    bool lost = false;  // was up, then went down: announces may have been missed
  };
  // A Redis glob and the watched patterns it serves.
  struct glob_watch {
    pattern_set patterns;
    uint64_t token = 0;
    bool confirmed = false;        // Redis has answered the PSUBSCRIBE
    bool lost = false;             // was live, then the link dropped: a gap to report
    std::vector<uint64_t> waiting;  // pattern queries answered once confirmed
    std::vector<uint64_t> waiting_recoveries;  // pattern recoveries started once confirmed
  };
  // A pattern recovery in progress (protocol 1.1, redis_recovery.cpp).
  struct recovered_tag {
    std::string tag;
    bool known = false;  // named by the client: the exact-tag rules; else the `ts` rule
    uint64_t since_seq = 0;
    std::string since_epoch;
    bool include = false;  // something to replay, or a gap
    tag_position position;
    std::vector<message_ref> missed;
  };
  struct pattern_recovery {
    uint64_t id = 0;
    uint64_t ticket = 0;
    std::string pattern;
    bool has_ts = false;
    uint64_t ts_ms = 0;
    uint32_t max_tags = 0;
    uint64_t max_bytes = 0;
    std::vector<recovered_tag> tags;  // the named ones first, then the registry's
    bool started = false;             // the registry was asked (the stream flowed)
    uint64_t subscriber_links = 0;    // the subscriber link's reconnects then
    uint32_t waiting = 0;             // queries not answered yet
    bool over = false;                // past max_tags: the pattern's gap
    bool failed = false;
    uint64_t barrier = 0;             // the PING the answer waits for (0: not sent)
  };
  // Which pattern recovery a query belongs to (id 0: none). No member initializers, so
  // that `{}` (all zero) may be a default argument inside this class.
  struct recovery_ref {
    uint64_t id;
    uint32_t tag;    // index in its tags
    bool by_ts;      // the `ts` rule (a tag the client did not name)
    uint64_t ts_ms;
  };
  // A query answer waiting for the live stream to catch up with its top.
  struct parked_answer {
    std::string tag;
    uint64_t ticket;
    uint64_t top;
    std::string epoch;
    bool gap;
    uint64_t barrier;
    bool barrier_passed = false;
    std::vector<message_ref> missed;
  };
  // What a query in flight needs when its reply comes.
  struct query_context {
    std::string tag;
    bool since_present = false;
    uint64_t since_seq = 0;
    std::string since_epoch;
    uint64_t ticket = 0;
    bool resync = false;  // the broker's own read to fill a hole in the live stream
    uint64_t resync_token = 0;
    recovery_ref recovery{};
  };

  // link_owner
  void on_link_up(link& l) override;
  void on_link_down(link& l, std::string_view why) override;
  void on_link_failed(link& l, std::string_view why) override;
  void on_reply(link& l, const link_request& request, resp_view reply,
                std::string_view command) override;
  void on_failed(link& l, const link_request& request) override;
  void on_push(link& l, resp_view push) override;

  // sentinel_owner
  void on_master(const redis_address& master) override;
  void on_sentinel_note(std::string_view what) override;

  // cluster_owner, and the cluster's side of commands (redis_cluster_mode.cpp)
  void on_cluster_reply(const link_request& request, resp_view reply) override;
  void on_cluster_failed(const link_request& request) override;
  void on_shard_message(std::string_view channel, std::string_view payload) override;
  void on_channel_up(std::string_view channel) override;
  void on_channel_down(std::string_view channel) override;
  void on_cluster_note(std::string_view what) override;
  /// The delivery scope of a watched tag's messages: exact, patterns (pulled), or both.
  static delivery_scope scope_of(const exact_watch& w) {
    return !w.pulled ? delivery_scope::exact
                     : (w.exact ? delivery_scope::all : delivery_scope::patterns);
  }

  // patterns on a cluster (redis_cluster_patterns.cpp)
  void start_cluster_patterns();  // (its scripts)
  void cluster_watch_pattern(std::string_view pattern);
  void cluster_unwatch_pattern(std::string_view pattern);
  void cluster_query_pattern(std::string_view pattern, uint64_t ticket, bool since);
  /// After a cluster publish was queued: its tag is announced once its reply comes, if due.
  /// True when the publish of `tag` (ticket) is to be announced once stored (announce_bit).
  bool note_cluster_publish(std::string_view tag, uint64_t ticket);
  /// A reply or failure (reply null) of a command of patterns (registry, announce) or of a
  /// publish (which may announce); true when nothing more is to be done with it.
  bool on_cluster_pattern_reply(const link_request& request, const resp_view* reply);
  void send_announce(std::string_view tag, uint64_t seq, int64_t ts_ms);
  /// The announce channel's events; false when `channel` is not an announce channel.
  bool on_announce_channel(std::string_view channel, std::string_view payload);
  bool on_announce_channel_state(std::string_view channel, bool up);
  void read_registry(std::string_view pattern, cluster_pattern& p, bool catch_up);
  void on_registry_reply(const link_request& request, const resp_view* reply);
  bool cluster_pattern_flows(std::string_view pattern, const cluster_pattern& p) const;
  void pattern_over(std::string_view pattern, cluster_pattern& p);
  void fail_pattern_waiters(cluster_pattern& p);
  /// Pulls `tag` in for the watched patterns it matches (within their bound); `seq` > 0: the
  /// announced first publish, whose messages are read from the history once the channel is
  /// up; `whole`: the whole retained history is (announces may have been missed).
  void pull_tag(std::string_view tag, uint64_t seq, bool whole);
  /// `tag` (of watch `w`) joins the pulled tags: counted by every watched pattern it matches.
  void count_pulled(std::string_view tag, const exact_watch& w);
  /// A pulled tag's channel came up (`up`) or went down: its patterns' unconfirmed counts.
  void pulled_channel(std::string_view tag, bool up);
  void answer_ready_patterns();
  /// A watched tag's stream has a gap: its exact subscribers and the patterns that pulled it
  /// are told.
  void report_gap(std::string_view tag, const exact_watch& w);
  /// A publish script with the sharded publish (the channel shares the keys' slot).
  static std::string cluster_publish_script(std::string_view script);
  void start_cluster(ring& r);
  /// Where a tag's command is built: the command link, or the slot's master's link; nullptr
  /// when there is no route now. Then commit_command (nothing in between).
  std::string* begin_command(std::string_view tag);
  void commit_command(const link_request& request);
  /// The tag's channel name into channel_scratch_.
  void channel_of(std::string_view tag);
  /// The cluster slot of the tag's keys and channel (they share their hash tag).
  uint16_t slot_of(std::string_view tag);
  /// The channel's subscription is confirmed: queries wait no more, a known stream resyncs.
  void confirm_exact(std::string_view tag, exact_watch& w);

  // failover (redis_failover.cpp): the master's replication id, WAIT
  void ask_replication_id();
  void on_replication_id(resp_view reply);
  /// A publish's seq, given to its client once the batch's WAIT confirms it.
  void await_replicas(const link_request& publish, uint64_t seq, int64_t ts, bool dup);
  void send_wait();
  void on_wait_reply(resp_view reply);
  void fail_awaiting();

  // retained messages of the cluster (redis_retained.cpp)
  void subscribe_retained();
  void stop_retained_load();
  void on_retained_subscribed(resp_view reply);
  void begin_retained_load();
  std::string_view retained_channel_name() const;
  void load_retained();
  void on_retained_loaded(resp_view reply);
  void on_retained_push(std::string_view payload);
  void on_retain_reply(const link_request& request, resp_view reply, std::string_view command);
  /// A retained message (or a clear: empty data) from Redis' form; null when malformed.
  message_ref retained_message(std::string_view tag, std::string_view value);

  // commands (redis_broker.cpp)
  /// Publishes and queries may be sent (on a cluster: per slot, begin_command says).
  bool commands_ready() const { return cluster_ || (commands_.up() && scripts_ready()); }
  bool scripts_ready() const {
    return !publish_sha_.empty() && !publish_batch_sha_.empty() && !query_sha_.empty() &&
           !candidates_sha_.empty() && !presence_sha_.empty() && !retain_sha_.empty() &&
           !session_sha_.empty() && !replid_pending_;
  }
  /// The session store's command for the Redis key `key` (begin_command, by key).
  std::string* begin_session_command(std::string_view key);
  /// PUBLISH (SPUBLISH on a cluster) on a session control channel; false if not sent.
  bool publish_control(std::string_view channel, std::string_view payload);
  /// SUBSCRIBE (SSUBSCRIBE) to the session store's control channel, now and after every
  /// reconnection.
  void subscribe_control(std::string_view channel);
  void load_scripts();
  bool send_query(std::string_view tag, bool since_present, uint64_t since_seq,
                  std::string_view since_epoch, uint64_t max_bytes, uint64_t ticket,
                  bool resync, uint64_t resync_token, const recovery_ref& recovery = {});
  /// Over max_backlog_bytes on the link `tag`'s commands take (on a cluster, its slot's
  /// master's): the request is refused (counted) rather than queued.
  bool backlogged(std::string_view tag);
  /// A message this node cannot carry (over max_data_bytes): counted, logged, dropped.
  bool oversized(std::string_view tag, std::size_t data_bytes);
  void on_publish_reply(const link_request& request, resp_view reply, std::string_view command);
  // a turn's publishes grouped by tag (redis_publish.cpp)
  struct publish_group;
  publish_group& group_for(std::string_view tag);
  /// Sends this turn's publishes (poll, or before another command is built).
  void flush_publishes();
  void send_publish_group(publish_group& g);
  void on_publish_batch_reply(const link_request& request, resp_view reply,
                              std::string_view command);
  /// One publish's answer (after its WAIT when wait_replicas).
  void published_one(const link_request& request, uint64_t ticket, uint64_t seq, int64_t ts,
                     bool dup, int64_t now_ns);
  void fail_batch(const link_request& request);
  /// A batch call answered or failed: its entry is free again (past a burst, given back).
  void release_batch(uint32_t index);
  void on_query_reply(const link_request& request, resp_view reply, std::string_view command);
  bool retry_noscript(const link_request& request, resp_view reply, std::string_view command);
  void fail_request(const link_request& request);
  /// The links' and clients' own counts into metrics_ (src/redis does not know obs).
  void copy_stats();
  /// Counts the request's round trip; returns now (monotonic ns).
  int64_t count_round_trip(const link_request& request);
  void note_error(std::string_view what, std::string_view detail);
  /// A warning about connections or topology, rate-limited with connection failures.
  void note_limited(std::string_view event, std::string_view what);
  std::string_view epoch_candidate();
  /// Encodes publish_head_ and publish_tail_ again if what they hold has changed.
  void refresh_publish_encoding();
  /// Keys outlive the history they hold: at least the age limit.
  uint64_t key_ttl_ms() const {
    const uint64_t ttl = options_.key_ttl_s > options_.history_max_age_s
                             ? options_.key_ttl_s
                             : options_.history_max_age_s;
    return ttl * 1000;
  }
  static message_ref make_msg(std::string_view tag, uint64_t seq, int64_t ts_ms,
                              std::string_view data, std::string_view meta);
  void answer(uint64_t ticket, const tag_position& position,
              std::span<const message_ref> missed);
  void answer_failed(uint64_t ticket);

  // presence (redis_presence.cpp)
  /// Sends one presence script call for `tag` (op j/s/r/l/q); false without a route.
  bool send_presence(std::string_view tag, char op, const link_request& request,
                     std::span<const std::pair<std::string_view, std::string_view>> members,
                     uint32_t limit = 0, uint64_t max_bytes = 0);
  /// Every tag with members here, in full (after a lost command); then refreshes by timer.
  void poll_presence(int64_t now_ms);
  void resync_presence(std::string_view tag);
  void on_presence_reply(const link_request& request, resp_view reply, std::string_view command);
  void on_presence_failed(const link_request& request);
  /// A presence payload on a tag's channel; false when `payload` is not one.
  bool on_presence_live(std::string_view tag, std::string_view payload);

  // subscriptions and the live stream (redis_watch.cpp)
  /// The glob that serves `pattern`: its own, or the catch-all once --redis-max-patterns
  /// distinct globs are held (the catch-all receives every tag's channel; the broker
  /// filters, so that no client can make the node hold unbounded PSUBSCRIBEs).
  const std::string& glob_for(std::string_view pattern);
  void update_pattern_gauges();
  void subscribe(std::string_view tag, exact_watch& w);
  void psubscribe(std::string_view glob, glob_watch& w);
  void query_pattern(std::string_view pattern, uint64_t ticket);
  /// Answers (with no position) pattern queries that waited for their stream. Callers take
  /// the tickets out of the watch first: an answer may end up unwatching the pattern.
  void answer_pattern_waiters(std::span<const uint64_t> tickets);
  void on_subscribe_reply(const link_request& request, resp_view reply);
  void on_barrier_reply(const link_request& request);
  /// `stored`: what the script stored, with its metadata (redis_meta.h). False when
  /// malformed.
  bool on_live_stored(std::string_view tag, uint64_t seq, std::string_view epoch,
                      int64_t ts_ms, std::string_view stored, std::string_view glob = {});
  void on_live(std::string_view tag, uint64_t seq, std::string_view epoch, int64_t ts_ms,
               std::string_view data, std::string_view meta);
  void on_pattern_live(std::string_view glob, std::string_view tag, uint64_t seq,
                       std::string_view epoch, int64_t ts_ms, std::string_view data,
                       std::string_view meta);
  void start_resync(std::string_view tag, exact_watch& w);
  void on_resync_answer(const query_context& context, const tag_position& position,
                        std::span<const message_ref> missed);
  void on_watched_answer(const query_context& context, exact_watch& w,
                         const tag_position& position, std::span<const message_ref> missed);
  void release_parked(std::string_view tag, exact_watch* w);
  void fail_parked_and_deferred();

  // pattern recovery (redis_recovery.cpp)
  uint64_t registry_cap() const {
    return std::max<uint64_t>(2 * uint64_t{options_.max_recovery_tags}, 1024);
  }
  pattern_recovery* find_recovery(uint64_t id);
  void start_recoveries(std::span<const uint64_t> ids);
  void start_recovery(pattern_recovery& r);
  void on_candidates_reply(const link_request& request, resp_view reply,
                           std::string_view command);
  void on_recovery_reply(const query_context& context, tag_position position,
                         std::span<const message_ref> missed, bool restart, bool incomplete);
  void recovery_failed_query(const query_context& context);
  void recovery_queried(pattern_recovery& r);
  void release_recoveries(uint64_t barrier);
  void finish_recovery(uint64_t id, bool failed);
  void fail_recoveries();
  void drop_held(exact_watch& w);
  /// Its subscription is lost (link or channel down): not confirmed, a resync in flight
  /// abandoned with what it held; resubscribing starts it again.
  void unconfirm(exact_watch& w);

  shard_metrics& metrics_;
  const redis_broker_options options_;
  link commands_;
  link subscriber_;
  std::unique_ptr<sentinel_watch> sentinel_;
  std::unique_ptr<cluster_client> cluster_;
  std::string channel_scratch_;
  link_traffic traffic_;  // every data link's (not the sentinels'), copied to metrics_
  /// Sentinel: the master's replication id (INFO replication master_replid), asked on every
  /// command connection before anything is written; a tag last written under another id
  /// takes a new epoch. Empty without Sentinel.
  std::string replid_;
  bool replid_pending_ = false;
  // wait_replicas: publishes answered by Redis, waiting for the WAIT behind them.
  struct awaiting_publish {
    uint64_t ticket;
    uint64_t seq;
    int64_t ts;
    bool dup;  // an idem repeat (protocol 1.1)
    int64_t sent_ns;  // when its command was queued (broker_publish_latency)
  };
  std::vector<awaiting_publish> awaiting_;  // every one of them was sent before the next WAIT
  uint32_t publishes_since_wait_ = 0;

  std::string publish_sha_;
  std::string publish_batch_sha_;
  // A loop turn's publishes of one tag, not sent yet: one call when flushed (the publish
  // script for one message, the batch script for several).
  struct publish_group {
    std::string tag;       // `keys` are its (kept across turns: a hot tag encodes once)
    std::string keys;      // bulk seq key, log key, then channel (from channel_at)
    std::size_t channel_at = 0;
    std::string args;      // per message: its stored data bulk, then its idem flag bulk
    std::size_t first_data_end = 0;  // the first message's data bulk ends here in args
    std::string idem_keys;  // bulk idem keys of the messages that have one, in order
    uint32_t idem_count = 0;
    std::vector<uint64_t> tickets;
  };
  std::vector<publish_group> groups_;  // the first group_count_ are this turn's
  uint32_t group_count_ = 0;
  std::size_t turn_publish_bytes_ = 0;  // their data and idem keys (backlogged counts them)
  std::vector<std::vector<uint64_t>> batches_;  // the tickets of batch calls in flight
  std::vector<uint32_t> free_batches_;
  // A publish's arguments that are the same for every publish, encoded once (they cost a
  // third of building the script call): the head up to the keys (without, with an idem
  // key) and ARGV[4..10]. Encoded again when the script's sha or replid_ changes.
  std::string publish_head_[2];
  std::string publish_tail_;
  std::string encoded_sha_;
  std::string encoded_replid_;
  std::string query_sha_;
  std::string candidates_sha_;
  std::string retain_sha_;
  // Retained messages (redis_retained.cpp, retained_channel only): the channel is confirmed
  // and the set is being loaded (`load_wanted`: once the command link is up); changes that
  // come meanwhile wait in `retained_held_` and are applied after the set (newer wins).
  // Past options_.retained_hold_max_bytes held, `reload`: the set under way is read again.
  bool retained_loading_ = false;
  bool retained_load_wanted_ = false;
  bool retained_reload_ = false;
  std::vector<message_ref> retained_held_;
  uint64_t retained_held_bytes_ = 0;
  std::string session_sha_;
  std::unique_ptr<redis_session_store> sessions_;
  std::vector<pattern_recovery> recoveries_;
  uint64_t next_recovery_ = 0;
  std::string presence_sha_;
  presence_table presence_;            // this node's members of the tags this shard owns
  bool presence_resync_ = false;       // a change may have been lost: resync every tag
  int64_t next_presence_refresh_ms_ = 0;
  std::vector<std::pair<std::string_view, std::string_view>> presence_args_;  // (reused)
  bool reloading_ = false;

  string_map<exact_watch> exact_;
  string_map<cluster_pattern> cluster_patterns_;
  string_map<cluster_segment> cluster_segments_;
  struct registry_read {
    uint64_t token;
    std::string pattern;
    bool catch_up;  // after the announce channel was down: new tags' whole history is read
  };
  std::vector<registry_read> registry_reads_;
  std::vector<std::pair<uint64_t, std::string>> announcing_;      // publish ticket -> tag
  std::vector<std::pair<uint64_t, std::string>> announces_sent_;  // announce token -> tag
  std::string announce_sha_;
  announce_cache announced_{4096, 5000};
  uint64_t pulled_tags_ = 0;
  string_map<glob_watch> globs_;
  string_map<std::string> pattern_globs_;  // watched pattern -> its glob
  std::vector<parked_answer> parked_;
  uint64_t next_token_ = 0;
  uint64_t barriers_sent_ = 0;
  bool resubscribed_ = false;  // the subscriber link's subscriptions are all confirmed
  // The last pattern message passed on: one publish matching several globs arrives once per
  // glob, back to back. Its epoch tells a tag's new life (seq 1 again) from a repeat.
  std::string last_pattern_tag_;
  uint64_t last_pattern_seq_ = 0;
  std::string last_pattern_epoch_;

  std::vector<query_context> contexts_;
  std::vector<uint32_t> free_contexts_;
  std::vector<message_ref> scratch_;
  std::string glob_scratch_;
  std::vector<std::string> resync_queue_;  // tags whose resync waits for the command link
  log_limiter error_log_;    // refused commands, malformed messages
  log_limiter connect_log_;  // failed connection attempts, both links
  xorshift64 rng_;  // epoch candidates
  char epoch_buf_[8];
  uint64_t live_gaps_ = 0;
};

}  // namespace wsa
