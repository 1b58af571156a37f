// The records MQTT handlers on different shards send each other (core/record.h), beside the
// router's (router/records.h): their type numbers start at mqtt_record_base, and the shard
// hands those to its MQTT handler.
//
//   retain   publisher's shard -> every other shard   a retained publish was taken: apply it
//                                                      to the shard's replica (retained_store)
//   claim    connection's shard -> key's owner shard  a session key has a new connection: the
//                                                      owner closes the one it had (takeover)
//   release  connection's shard -> key's owner shard  that connection ended
//   take_over owner shard -> connection's shard        close it: its session was taken over
#pragma once

#include <cstdint>
#include <string_view>

#include "core/record.h"

namespace wsa::mqtt_records {

inline constexpr uint32_t base = 1000;

struct retain {
  static constexpr uint32_t type = base + 1;
  uint64_t seq = 0;  ///< the order among the node's retained publishes (not the tag's seq)
  int64_t ts_ms = 0;
  uint8_t qos = 0;
  std::string_view tag;
  std::string_view data;  ///< empty: the tag's retained message is cleared
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.seq);
    field(self.ts_ms);
    field(self.qos);
    field(self.tag);
    field(self.data);
  }
};

/// A connection of a session key, as the key's owner shard knows it (claim and release).
struct session_holder {
  uint32_t slot = 0;
  uint32_t generation = 0;
  std::string_view key;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.slot);
    field(self.generation);
    field(self.key);
  }
};

struct claim : session_holder {
  static constexpr uint32_t type = base + 2;
};

struct release : session_holder {
  static constexpr uint32_t type = base + 3;
};

struct take_over {
  static constexpr uint32_t type = base + 4;
  uint32_t slot = 0;
  uint32_t generation = 0;
  template <class Self, class Field>
  static void fields(Self& self, Field&& field) {
    field(self.slot);
    field(self.generation);
  }
};

}  // namespace wsa::mqtt_records
