// A `sub` request that waits for the owners of its exact tags to report each tag's
// position (and, with `since`, the messages the client missed). While it waits, live
// messages of a newly subscribed or replayed tag are held, so that the client gets: `ok`,
// then the replay in order, then live messages with no gap and no duplicate (held ones at
// or below the reported top are dropped: the replay or the past already has them).
// Owned by the connection's shard; linked from the connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/broker.h"

namespace wsa {

struct pending_sub {
  struct tag_entry {
    std::string tag;
    bool has_since = false;
    uint64_t since_seq = 0;
    std::string since_epoch;
    bool hold = false;       ///< hold live messages until the answer (new or replayed tag)
    bool pattern = false;    ///< a pattern (Redis): waits for its stream, has no position
    bool answered = false;
    bool cancelled = false;  ///< unsubscribed (or forbidden) meanwhile: no entry in the ok
    bool ok = true;
    uint64_t top = 0;
    std::string epoch;
    bool gap = false;
    std::vector<history_entry> replay;  ///< references held
    std::vector<history_entry> held;    ///< references held
  };

  uint32_t request = 0;
  std::string id;      ///< raw JSON id, empty: none
  uint32_t waiting = 0;
  std::vector<tag_entry> tags;
  pending_sub* next = nullptr;  ///< the connection's next pending request

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
