// A `sub` request that waits for the owners of its exact tags to report each tag's
// position (and, with `since`, the messages the client missed). While it waits, live
// messages of a newly subscribed or replayed tag are held, so that the client gets: `ok`,
// then the replay in order, then live messages with no gap and no duplicate (held ones at
// or below the reported top are dropped: the replay or the past already has them).
//
// Several requests of one connection may wait for the same tag. Live messages are held by
// the oldest request that holds the tag; a request that completes hands the held messages
// above its position on to the next waiting holder, and tells every waiting entry of the
// tag how far it delivered (`floor`), so that across requests the tag's messages still
// reach the client once each, in seq order, never ahead of a replay still to come.
// Owned by the connection's shard; linked from the connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "pubsub/hash.h"
#include "pubsub/id_table.h"

namespace wsa {

struct pending_sub {
  struct tag_entry {
    std::string tag;
    bool has_since = false;
    uint64_t since_seq = 0;
    std::string since_epoch;
    bool hold = false;       ///< hold live messages until the answer (new or replayed tag)
    bool added = false;      ///< this request added the subscription (a refusal removes it)
    bool pattern = false;    ///< a pattern (Redis): waits for its stream, has no position
    bool answered = false;
    bool cancelled = false;  ///< unsubscribed (or forbidden) meanwhile: no entry in the ok
    bool ok = true;
    uint64_t top = 0;
    std::string epoch;
    bool gap = false;
    uint64_t floor = 0;  ///< seq already delivered by an earlier request of this tag
    std::vector<history_entry> replay;  ///< references held
    std::vector<history_entry> held;    ///< references held
  };

  uint32_t request = 0;
  std::string id;      ///< raw JSON id, empty: none
  uint32_t waiting = 0;
  bool recovers = false;  ///< some tag has `since` (--max-pending-recoveries counts these)
  std::vector<tag_entry> tags;
  pending_sub* next = nullptr;  ///< the connection's next pending request
  id_table by_tag;              ///< tags' indices by tag (a request names each tag once)

  /// Indexes `tags`; called once every entry is in.
  void index_tags() {
    for (uint32_t i = 0; i < tags.size(); ++i) {
      by_tag.insert(hash_bytes(tags[i].tag), i);
    }
  }
  /// This request's entry for `tag`, or null.
  tag_entry* find(std::string_view tag) {
    const uint32_t i =
        by_tag.find(hash_bytes(tag), [&](uint32_t j) { return tags[j].tag == tag; });
    return i == id_table::npos ? nullptr : &tags[i];
  }

  ~pending_sub() {
    for (tag_entry& t : tags) {
      for (history_entry& e : t.replay) {
        e.msg->unref();
      }
      for (history_entry& e : t.held) {
        e.msg->unref();
      }
    }
  }
};

}  // namespace wsa
