// What a completion is about, packed into io_uring's 64-bit user_data (docs/style.md guideline
// 8). Every layout lives here; nothing outside src/core shifts or masks user_data.
//
//   connection ops and the rest:  kind (8) | generation (24) | slot (32)
//   link ops:                     kind (8) | generation (24) | link id (30) | link_io (2)
//
// A completion whose generation no longer matches its slot (or its link's connection) is
// stale: the connection was freed and the slot reused, or the link reconnected. The shard's
// completion loop is one switch on `kind`; nothing here allocates or dispatches virtually.
#pragma once

#include <cstdint>

namespace wsa {

enum class io_op : uint8_t {
  accept = 1,    ///< multishot accept on the shard's listener
  recv = 2,      ///< multishot recv of a connection (provided buffers)
  send = 3,      ///< the one send in flight of a connection
  doorbell = 4,  ///< MSG_RING from another shard: "your mailbox has work"
  cancel = 5,    ///< completion of a cancel request; nothing to do
  link = 6,      ///< an operation of a link the shard opened (a Redis connection)
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

/// The operations of one link: at most one of each in flight.
enum class link_io : uint8_t { connect = 0, recv = 1, send = 2, cancel = 3 };

struct link_op_data {
  uint32_t link;        ///< the id the ring gave the link (ring::allocate_link_id)
  link_io io;
  uint32_t generation;  ///< the link's connection attempt, 24 bits
};

inline constexpr uint32_t link_id_mask = 0x3fffffff;

inline constexpr uint64_t encode_link_op(uint32_t link, link_io io, uint32_t generation) {
  return encode_op(io_op::link, ((link & link_id_mask) << 2) | static_cast<uint8_t>(io),
                   generation);
}

/// Meaningful when decode_op(user_data).kind is io_op::link.
inline constexpr link_op_data decode_link_op(uint64_t user_data) {
  const op_data op = decode_op(user_data);
  return {op.slot >> 2, static_cast<link_io>(op.slot & 3), op.generation};
}

}  // namespace wsa
