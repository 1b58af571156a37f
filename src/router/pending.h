// Subscribe requests that wait for the owners of their keys, and the merge that joins a
// subscription to the live stream without a gap or a duplicate (docs/architecture.md
// "Subscribing and recovery").
//
// A request asks each exact tag's owner for the tag's position (`top`, `epoch`) and, with
// `since`, for the retained messages after it (`replay`); with a broker whose patterns have
// their own stream, it also waits for each new pattern's stream to flow. While it waits,
// live messages of a newly subscribed or replayed tag are held for that connection. When
// every owner has answered, the connection gets its answer, then per tag the replay in
// order, then the held messages above max(top, last replayed): what is at or below the top
// was published before the subscription took effect (and the replay has it if asked for).
// An unsubscribe meanwhile cancels the key's entry (it leaves the answer).
//
// Several requests of one connection may wait for the same tag. Live messages are held by
// the oldest request that holds the tag; a request that completes hands the held messages
// above its position on to the next waiting holder, and tells every waiting entry of the
// tag how far it delivered (`floor`), so that across requests the tag's messages still
// reach the client once each, in seq order, never ahead of a replay still to come.
// Lookups by key go through each request's index, so that a request naming many tags costs
// linear time.
//
// A pattern with `since` (protocol 1.1 "Recovery on patterns") is one entry that holds the
// live messages of every tag the pattern matches, and collects the answers of the owners
// (every shard with the embedded broker, the pattern's owner with Redis): one position per
// tag replayed, then its messages. On completion each tag's replay comes first, then its
// held messages above max(its top, its last replayed, the position the client gave).
// Owned by the router; shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.h"
#include "broker/events.h"
#include "broker/known_tags.h"
#include "broker/message.h"
#include "pubsub/id_table.h"
#include "router/ports.h"

namespace wsa {

struct pending_entry {
  std::string key;
  bool has_since = false;
  uint64_t since_seq = 0;
  std::string since_epoch;
  bool hold = false;       ///< hold live messages until the answer (new or replayed tag)
  bool added = false;      ///< this request added the subscription (a refusal removes it)
  bool pattern = false;    ///< waits for its stream only; no position
  bool answered = false;
  bool cancelled = false;  ///< unsubscribed meanwhile: no entry in the answer
  bool ok = true;
  uint64_t top = 0;
  std::string epoch;
  bool gap = false;
  uint64_t floor = 0;  ///< seq already delivered by an earlier request of this tag
  std::vector<message*> replay;  ///< references held
  std::vector<message*> held;    ///< references held
  // Recovery on a pattern (`recovery`): `gap` is then the pattern's (past max_tags).
  bool recovery = false;
  bool has_ts = false;
  uint64_t since_ts = 0;
  uint32_t max_tags = 0;
  uint32_t parts = 0;          ///< owners' answers still expected
  uint64_t replay_bytes = 0;   ///< this entry's share of the request's replay budget
  uint64_t considered = 0;     ///< tags the owners considered (each gets an even share)
  uint64_t held_bytes = 0;     ///< wire bytes of `held` (bounded by replay_bytes)
  bool hold_cut = false;       ///< the held messages passed replay_bytes: dropped, a gap
  std::string known;           ///< the client's positions (router/known_positions.h)
  std::vector<named_position> tags;  ///< the tags replayed, in the order the owners told
  id_table tag_index;                ///< indices in `tags` by tag
  std::vector<known_position> known_list;  ///< `known` read back (views into it)
  std::unique_ptr<known_tags> known_set;  ///< indices in known_list by tag
  /// Tags the client named that came past max_tags: where they stand (their epoch says
  /// whether the client's seq still counts for their held messages), by known_list index.
  std::vector<named_position> dropped_named;
  std::vector<uint32_t> dropped_at;  ///< per known_list index: in dropped_named, or npos

  /// Index in `tags` of `tag`, or id_table::npos.
  uint32_t find_tag(std::string_view tag) const;
};

struct pending_request {
  subscriber_id who;
  uint32_t request = 0;    ///< the number answers carry
  std::string request_id;  ///< the client's raw JSON id; empty: none
  uint32_t waiting = 0;    ///< entries not answered yet
  bool recovers = false;   ///< some tag has `since` (--max-pending-recoveries counts these)
  bool pattern_holds = false;  ///< some entry is a pattern recovery (holds matching tags)
  std::vector<pending_entry> entries;
  pending_request* next = nullptr;  ///< the connection's next request
  id_table by_key;                  ///< entries' indices by key (each key once)

  /// This request's entry for `key`, or null.
  pending_entry* find(std::string_view key);

  pending_request() = default;
  pending_request(const pending_request&) = delete;
  pending_request& operator=(const pending_request&) = delete;
  ~pending_request();
};

/// What a completed request sends: the answer's positions and failed keys, and the
/// messages after it, in order (references still owned by the request).
struct sub_delivery {
  bool failed = false;
  std::vector<sub_position> positions;
  std::vector<std::string_view> failed_new_keys;  ///< to unsubscribe: no half subscription
  std::vector<message*> messages;
  uint32_t truncated = 0;  ///< replays cut to fit
};

class pending_requests {
 public:
  pending_requests() = default;
  pending_requests(const pending_requests&) = delete;
  pending_requests& operator=(const pending_requests&) = delete;
  ~pending_requests();

  /// A new request for `who` with a fresh number; the caller fills its entries, then calls
  /// start() (or discards it, if it has none).
  std::unique_ptr<pending_request> open(subscriber_id who, std::string_view request_id);
  /// Indexes the request's entries and links it at the end of its connection's list; it
  /// waits for every entry not answered already.
  pending_request& start(std::unique_ptr<pending_request> request);
  /// Unlinks a request whose entries were all answered when it started (refusals).
  std::unique_ptr<pending_request> finish_early(pending_request& request);

  /// Is some request of `slot` waiting? (The fan-out's fast check.)
  bool any(uint32_t slot) const { return slot < heads_.size() && heads_[slot] != nullptr; }
  /// Holds a live message for `slot` (taking a reference) when one of its requests holds
  /// `tag` (the oldest that does). Returns true if held. A pattern recovery holds at most
  /// its replay share of bytes: past it, what it held is dropped, and so is what follows
  /// until the answer, which reports the pattern in `gaps`.
  bool hold(uint32_t slot, std::string_view tag, message& m);
  /// Requests of `slot` waiting with some `since` (recoveries).
  std::size_t recoveries(uint32_t slot) const;
  /// Whether a request of `slot` holds `key` (its answer will tell where the key stands).
  bool holding(uint32_t slot, std::string_view key) const;
  /// The oldest waiting request's entry of `slot` that holds live messages of `tag`.
  pending_entry* holder(uint32_t slot, std::string_view tag) const;

  /// A replayed message for request `request` of `to`; kept (a reference) until the answer.
  /// For a pattern recovery, only messages of a tag its answer listed are kept.
  void on_replay(subscriber_id to, uint32_t request, std::string_view key, message& m);
  /// One tag of a pattern recovery's answer; past the entry's max_tags, the pattern's gap.
  void on_pattern_position(subscriber_id to, uint32_t request, std::string_view key,
                           std::string_view tag, uint64_t top, std::string_view epoch,
                           bool gap);
  /// The owner's answer for `key`. Returns the request, unlinked, when that was its last
  /// missing answer (the caller completes it); null otherwise or when it is gone.
  std::unique_ptr<pending_request> on_answer(subscriber_id to, uint32_t request,
                                             std::string_view key, bool ok, uint64_t top,
                                             std::string_view epoch, bool gap);
  /// The key was unsubscribed: its entries leave the pending requests of `slot`.
  void cancel(uint32_t slot, std::string_view key);
  /// Cancels every waiting entry of `slot` whose key pred(key) selects (one pass).
  template <class Pred>
  void cancel_if(uint32_t slot, Pred&& pred) {
    for (pending_request* p = any(slot) ? heads_[slot] : nullptr; p != nullptr; p = p->next) {
      for (pending_entry& e : p->entries) {
        if (!e.cancelled && pred(std::string_view(e.key))) {
          e.cancelled = true;
        }
      }
    }
  }
  /// The connection is gone: its requests end unanswered.
  void drop(uint32_t slot);

 private:
  pending_request* find(subscriber_id to, uint32_t request) const;
  void unlink(pending_request* p);

  friend void plan_delivery(pending_requests&, pending_request&, std::size_t, sub_delivery&);

  std::vector<pending_request*> heads_;  // by slot
  uint32_t next_request_ = 1;
};

/// Works out a completed (unlinked) request's answer and the messages that follow it.
/// Replays are cut to `room` bytes (the connection's outbound room): a tag cut short is
/// reported as a gap, which a later `since` recovers. Held messages that another waiting
/// request of the connection must deliver after its replay are handed on to it.
void plan_delivery(pending_requests& pending, pending_request& request, std::size_t room,
                   sub_delivery& out);

}  // namespace wsa
