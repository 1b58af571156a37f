// The records MQTT handlers on different shards send each other (core/record.h), beside the
// router's (router/records.h): their type numbers start at mqtt_record_base, and the shard
// hands those to its MQTT handler.
//
//   retain   publisher's shard -> every other shard   a retained publish was taken: apply it
//                                                      to the shard's replica (retained_store)
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

}  // namespace wsa::mqtt_records
