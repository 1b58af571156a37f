// The shard's connection slots: stable addresses (chunks that never move), O(1) acquire
// and release, and a generation per slot that invalidates completions and cross-shard
// replies addressed to a previous occupant. Shard thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "server/conn.h"

namespace wsa {

class conn_table {
 public:
  /// A fresh connection in a free slot (generation already advanced).
  conn* acquire();
  /// Returns the slot; the connection must hold no resources any more.
  void release(conn* c);

  /// The live connection at `slot` with this generation, or null.
  conn* find(uint32_t slot, uint32_t generation) {
    if (slot >= size_) {
      return nullptr;
    }
    conn& c = at(slot);
    return c.fd >= 0 && c.generation == generation ? &c : nullptr;
  }
  conn& at(uint32_t slot) { return chunks_[slot / chunk_size][slot % chunk_size]; }
  uint32_t live() const { return live_; }

  /// Calls fn(conn&) for every live connection. fn must not acquire or release.
  template <class Fn>
  void for_each(Fn&& fn) {
    for (uint32_t slot = 0; slot < size_; ++slot) {
      conn& c = at(slot);
      if (c.fd >= 0) {
        fn(c);
      }
    }
  }

 private:
  static constexpr uint32_t chunk_size = 1024;
  std::vector<std::unique_ptr<conn[]>> chunks_;
  std::vector<uint32_t> free_;
  uint32_t size_ = 0;
  uint32_t live_ = 0;
};

}  // namespace wsa
