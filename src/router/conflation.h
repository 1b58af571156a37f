// Conflation (protocol 1.1, `"mode":"latest","interval_ms":N` on `sub`): for the tags a
// connection receives only in that mode, at most one `msg` per tag per interval, always the
// newest. Per (connection, concrete tag): when the last one was sent and the newest message
// not sent yet (one reference, replaced by each newer message). A message is sent at once if
// the tag's interval has passed, else when it passes (tick, once per loop turn), and only
// while the connection's queue has room for it: a conflated tag never builds a queue and
// never closes its subscriber with 4008 (its newest value waits here instead).
//
// Memory: an entry exists while a tag has a pending message or was sent within its
// interval; at most max_tags_per_connection entries per connection (a pattern may match
// many tags): a message of a further tag is sent at once if there is room, else skipped
// (counted). Shard thread only; one per router.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "broker/message.h"
#include "obs/metrics.h"
#include "pubsub/string_map.h"
#include "router/ports.h"

namespace wsa {

class conflation {
 public:
  static constexpr std::size_t max_tags_per_connection = 4096;

  conflation(router_client& client, shard_metrics& metrics) : client_(client), metrics_(metrics) {}
  ~conflation();
  conflation(const conflation&) = delete;
  conflation& operator=(const conflation&) = delete;

  /// A live message for `who`, whose subscriptions matching its tag are all "latest"; the
  /// shortest of their intervals applies.
  void offer(subscriber_id who, message& m, uint32_t interval_ms, int64_t now_ms);
  /// Sends the pending messages whose interval has passed; forgets idle tags.
  void tick(int64_t now_ms);
  /// Whether `slot` has conflation state (the cheap check before discard()).
  bool has(uint32_t slot) const { return slot < slots_.size() && slots_[slot] != nullptr; }
  /// Forgets `slot`'s entries of tags `key` matches (the key is unsubscribed, or now
  /// delivered in another mode): a pending older message must not follow newer ones.
  void discard(uint32_t slot, std::string_view key);
  /// Forgets everything of `slot` (the connection closes).
  void drop(uint32_t slot);

 private:
  struct entry {
    int64_t last_sent_ms = 0;
    uint32_t interval_ms = 0;
    message_ref pending;
  };
  struct per_slot {
    subscriber_id who;
    string_map<entry> tags;
    bool due = false;  // listed in due_: some entry has a pending message
  };
  bool send(const per_slot& s, message& m);
  void forget(per_slot& s, string_map<entry>::iterator it);

  router_client& client_;
  shard_metrics& metrics_;
  std::vector<std::unique_ptr<per_slot>> slots_;
  std::vector<uint32_t> due_;  // slots with pending messages
  std::vector<uint32_t> scratch_;
};

}  // namespace wsa
