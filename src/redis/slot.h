// Redis Cluster key slots (https://redis.io/docs/reference/cluster-spec/, "Keys distribution
// model"): CRC16-XMODEM of the key modulo 16384, where a key holding a non-empty `{...}`
// hashes only what is between its first `{` and the next `}`. wsagent names every key and
// channel of a tag `wsa:{TAG}...` so that they share one slot.
// Pure functions: any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace wsa {

inline constexpr uint16_t cluster_slot_count = 16384;

/// CRC16 with polynomial 0x1021, initial value 0, no reflection (CRC-16/XMODEM).
uint16_t crc16_xmodem(std::string_view bytes);

/// The slot of a key or shard channel, honouring hash tags.
uint16_t key_slot(std::string_view key);

}  // namespace wsa
