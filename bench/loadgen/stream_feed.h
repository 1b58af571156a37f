// Reassembly of length-prefixed units (WebSocket frames, MQTT packets) from a byte stream
// that arrives in arbitrary pieces. Complete units are handed over where they lie in the
// receive buffer; only a unit cut by a buffer boundary is copied, into `carry`, and
// completed from the next piece with exactly the bytes it still needs. Used by the worker
// thread on one connection's buffers.
#pragma once

#include <cstddef>

#include "byte_buffer.h"

namespace wsa::loadgen {

constexpr std::size_t max_unit_bytes = std::size_t{64} << 20;

// size_of(p, n, header, total) -> 1: header and total sizes known; 0: need more header
// bytes; -1: malformed. on_unit(p, header, total) -> false to stop (connection closed).
// Units are mutable (unmasking). Both are called once per unit: the sizes found by size_of
// travel to on_unit, which need not parse the header again.
// Returns false on malformed input, an oversized unit, or when on_unit stopped.
template <class SizeOf, class OnUnit>
bool feed_units(byte_buffer& carry, char* data, std::size_t len, SizeOf&& size_of,
                OnUnit&& on_unit) {
  while (!carry.empty()) {
    std::size_t header = 0;
    std::size_t total = 0;
    int r = size_of(carry.data(), carry.size(), header, total);
    if (r < 0 || (r > 0 && total > max_unit_bytes)) {
      return false;
    }
    if (r == 0) {
      if (len == 0) {
        return true;
      }
      std::size_t take = len < 16 ? len : 16;  // a header is at most 14 (WS) or 5 (MQTT)
      carry.append(data, take);
      data += take;
      len -= take;
      continue;
    }
    if (carry.size() < total) {
      std::size_t need = total - carry.size();
      std::size_t take = need < len ? need : len;
      carry.append(data, take);
      data += take;
      len -= take;
      if (carry.size() < total) {
        return true;
      }
    }
    if (!on_unit(carry.data(), header, total)) {
      return false;
    }
    carry.consume_front(total);
  }
  std::size_t off = 0;
  while (off < len) {
    std::size_t header = 0;
    std::size_t total = 0;
    int r = size_of(data + off, len - off, header, total);
    if (r < 0 || (r > 0 && total > max_unit_bytes)) {
      return false;
    }
    if (r == 0 || total > len - off) {
      break;
    }
    if (!on_unit(data + off, header, total)) {
      return false;
    }
    off += total;
  }
  carry.append(data + off, len - off);
  return true;
}

}  // namespace wsa::loadgen
