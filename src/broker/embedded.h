// The embedded broker: one node, in memory. Per tag: the last seq and the newest
// `history_size` messages (message handles, shared with the fan-out), for `since` recovery.
// One instance per shard, for the tags that shard owns; every result is queued at once
// (publish and query never wait). Shard thread only.
//
// Retained state is bounded (issue 8; docs/limits.md "Retained history"):
// - Bytes. Every retained message (with one transport's encoding of it, which the first
//   subscriber or replay caches on it), every tag's entry and the bookkeeping count against
//   `history_max_bytes` (this shard's share of --history-max-bytes). Past it, idle tags are
//   forgotten first (no subscriber, nothing retained: only their numbering is lost), then
//   the oldest retained messages of the shard are dropped, whatever their tag, in publish
//   order (a FIFO of (tag, seq) entries, one per retained message).
// - Age. With `history_max_age_ms`, messages older than it are dropped, and tags idle that
//   long are forgotten.
// - Tags. A tag whose last subscriber leaves and that never had a message is forgotten at
//   once; one with no subscriber and nothing retained goes on an idle list (above).
// A client asking `since` for a dropped position gets a gap (the history no longer reaches
// back). A forgotten tag that comes back starts a new life: seq from 1 under a new epoch
// (the node's epoch plus a per-shard count of forgotten tags), so that numbers of two lives
// never mix. Tags of the first life keep the node's epoch, drawn at process start.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/idem_window.h"
#include "broker/presence_table.h"
#include "broker/tag_history.h"
#include "obs/metrics.h"
#include "pubsub/id_table.h"

namespace wsa {

struct embedded_options {
  std::string epoch;                     ///< the node's epoch: every tag's first life
  uint32_t history_size = 256;           ///< messages kept per tag (0: none)
  uint64_t history_max_bytes = 1 << 26;  ///< this shard's share of the node's budget
  int64_t history_max_age_ms = 0;        ///< 0: no age limit
  int64_t idem_window_ms = 300000;       ///< how long an idem key is remembered
  uint32_t idem_max_keys = 100000;       ///< this shard's share of --idempotency-max-keys
};

class embedded_broker final : public broker {
 public:
  embedded_broker(broker_events& results, embedded_options options, shard_metrics& metrics);
  ~embedded_broker() override;
  embedded_broker(const embedded_broker&) = delete;
  embedded_broker& operator=(const embedded_broker&) = delete;

  void publish(const publish_request& request) override;
  void query(std::string_view tag, const since_request& since, uint64_t ticket) override;
  /// Scans the tags this shard owns (docs/architecture.md "Recovery on patterns").
  void query_pattern(const pattern_since_request& request, uint64_t ticket) override;
  void watch(std::string_view tag) override;
  void unwatch(std::string_view tag) override;
  void presence_join(std::string_view tag, std::string_view member,
                     std::string_view who) override;
  void presence_leave(std::string_view tag, std::string_view member) override;
  void presence_query(std::string_view tag, uint32_t limit, uint64_t max_bytes,
                      uint64_t ticket) override;
  bool ready() const override { return true; }
  bool pattern_streams() const override { return false; }
  void poll() override;

  /// The clock of the broker (poll() passes the monotonic clock; tests pass their own):
  /// drops what passed the age limit and forgets idle tags.
  void advance(int64_t now_ms);

  /// Bytes counted against the budget.
  uint64_t retained_bytes() const { return dynamic_bytes_ + structure_bytes(); }
  /// Tags in memory (with a subscriber, retained messages, or idle).
  std::size_t tag_count() const { return index_.size(); }
  /// Messages retained over all tags.
  uint64_t retained_messages() const { return retained_; }

 private:
  static constexpr uint32_t none = UINT32_MAX;

  struct tag_state {
    std::string tag;          // empty while the slot is free
    uint64_t top = 0;         // highest seq of this life
    int64_t last_ts_ms = 0;   // ts of the message numbered top
    uint64_t life = 0;        // 0: the node's epoch; n: the epoch with suffix n
    uint32_t watchers = 0;    // watch() minus unwatch(): shards with subscribers
    uint32_t idle_prev = none;
    uint32_t idle_next = none;
    bool idle = false;
    int64_t idle_since_ms = 0;
    tag_history history;
  };
  // One retained message, in publish order.
  struct retained_entry {
    uint32_t slot;
    uint32_t generation;
    uint64_t seq;
    int64_t at_ms;
  };

  uint32_t find(std::string_view tag) const;
  uint32_t create(std::string_view tag);
  void forget(uint32_t slot);
  void make_idle(uint32_t slot);
  void unlink_idle(uint32_t slot);
  std::string_view epoch_of(uint64_t life);
  /// Drops the oldest retained message of the shard (skipping stale FIFO entries); false
  /// when nothing is retained.
  bool drop_oldest(bool expired);
  void enforce_budget();
  void compact_order();
  bool is_retained(const retained_entry& e) const;
  uint64_t tag_bytes(const tag_state& t) const;
  uint64_t structure_bytes() const;
  void update_gauges();
  /// What a `since` for tag `t` (null: unknown here) asks of its history, by the rules of
  /// broker/recovery.h: the first retained seq to replay (0: none) and whether that leaves
  /// a gap.
  struct replay_range {
    uint64_t first = 0;
    bool gap = false;
  };
  static replay_range plan_replay(const tag_state* t, const since_request& since,
                                  std::string_view epoch);
  /// Appends t's retained messages from seq `first` to its top to `out` while `bytes` (what
  /// the answer holds already) stays within `max_bytes`; false when the rest was left out.
  bool copy_replay(const tag_state& t, uint64_t first, uint64_t max_bytes, uint64_t& bytes,
                   std::vector<message_ref>& out);
  /// A pattern recovery's answer for one tag: its position and the messages from seq
  /// `first` (0: none) within `budget` bytes; false when the answer is past max_tags.
  bool add_recovered(broker_event& answer, const pattern_since_request& request,
                     const tag_state* t, std::string_view tag, std::string_view epoch,
                     uint64_t first, bool gap, uint64_t budget);

  const embedded_options options_;
  shard_metrics& metrics_;
  // Slots: a tag's state is allocated on its own, so that forgetting it gives the memory
  // back; the slot's generation outlives it (FIFO entries of a freed slot are stale).
  std::vector<tag_state*> tags_;
  std::vector<uint32_t> generations_;
  std::vector<uint32_t> free_slots_;
  id_table index_;  // seeded hash of the tag -> slot
  std::vector<retained_entry> order_;  // from order_head_: oldest first (some stale)
  std::size_t order_head_ = 0;
  uint64_t retained_ = 0;       // live entries of order_
  uint64_t dynamic_bytes_ = 0;  // retained messages and per-tag memory
  uint32_t idle_head_ = none;
  uint32_t idle_tail_ = none;
  uint64_t lives_ = 0;  // tags with numbers forgotten so far: the next life's epoch suffix
  int64_t now_ms_ = 0;
  int64_t next_idle_sweep_ms_ = 0;
  std::string epoch_scratch_;
  idem_window idem_;
  presence_table presence_;
  std::string presence_scratch_;
};

}  // namespace wsa
