// What a completion is about, packed into io_uring's 64-bit user_data (docs/style.md guideline
// 8): the kind of operation, the connection slot it belongs to and that slot's generation.
// A completion whose generation no longer matches its slot is stale (the connection was
// freed and the slot reused) and is dropped. The shard's completion loop is one switch on
// `kind`; nothing here allocates or dispatches virtually.
#pragma once

#include <cstdint>

namespace wsa {

enum class io_op : uint8_t {
  accept = 1,    ///< multishot accept on the shard's listener
  recv = 2,      ///< multishot recv of a connection (provided buffers)
  send = 3,      ///< the one sendmsg in flight of a connection
  doorbell = 4,  ///< MSG_RING from another shard: "your mailbox has work"
  cancel = 5,    ///< completion of a cancel request; nothing to do
  redis = 6,     ///< a Redis link's socket operation (slot = link index)
};

struct op_data {
  io_op kind;
  uint32_t slot;
  uint32_t generation;  ///< 24 bits are kept
};

inline constexpr uint32_t generation_mask = 0xffffff;

inline constexpr uint64_t encode_op(io_op kind, uint32_t slot, uint32_t generation) {
  return (uint64_t{static_cast<uint8_t>(kind)} << 56) |
         (uint64_t{generation & generation_mask} << 32) | slot;
}

inline constexpr op_data decode_op(uint64_t user_data) {
  return {static_cast<io_op>(user_data >> 56),
          static_cast<uint32_t>(user_data & 0xffffffffu),
          static_cast<uint32_t>((user_data >> 32) & generation_mask)};
}

}  // namespace wsa
