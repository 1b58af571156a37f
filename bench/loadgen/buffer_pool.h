// Which provided receive buffers the kernel gets, and how many at a time: the most recently
// used first, and only about as many as the last turns needed. The kernel takes buffers
// from the ring in the order they were put there; refilling it from a LIFO stack keeps the
// few buffers in use warm in the cache, so the receive copy writes to cache lines it already
// owns. Handing all 1,024 buffers (then 32 KiB each) round robin wrote cold lines every time:
// measured at 100 subscribers saturated, 1,024 buffers in the ring vs 32, the kernel's
// copy routine fell from 13.5% to 9.4% of the load generator's CPU (perf, cpu-clock).
// Too few buffers in the ring cost an ENOBUFS and a re-armed receive (no data is lost: it
// waits in the socket), so the level follows demand: twice the most buffers one turn took
// recently, never below `floor` or above the count. A turn that ran short doubles it twice:
// the next level is twice what the ring held and the turn took, and that level is kept as
// the peak, so the turns after hold twice it again (64 in the ring, all taken and short:
// 128, then 252, decaying; 128, 126, ... had it not run short).
// Pure bookkeeping, no io_uring: uring.h feeds the ring from it; unit-tested alone.
#pragma once

#include <cstdint>
#include <vector>

namespace wsa::loadgen {

class buffer_pool {
 public:
  // count buffers, ids 0..count-1, all free; floor: fewest buffers kept in the ring.
  void init(uint32_t count, uint32_t floor) {
    count_ = count;
    floor_ = floor < count ? floor : count;
    free_.clear();
    free_.reserve(count);
    for (uint32_t i = count; i-- > 0;) {
      free_.push_back(static_cast<uint16_t>(i));  // id 0 on top
    }
    in_ring_ = 0;
    taken_ = 0;
    peak_ = 0;
    short_ = false;
  }

  // The kernel used buffer `id` (one receive completion) and the caller is done with it.
  void give_back(uint16_t id) {
    free_.push_back(id);
    --in_ring_;
    ++taken_;
  }

  // A receive found no buffer (ENOBUFS): the level doubles at the next refill and again at
  // the one after (see above).
  void ran_short() { short_ = true; }

  // The ring's level for the next turn, given what this turn took; resets the turn's count.
  uint32_t next_level() {
    // The peak decays by 1/64 a turn, so a burst's level lasts a few hundred turns.
    uint32_t decayed = peak_ - (peak_ + 63) / 64;
    peak_ = taken_ > decayed ? taken_ : decayed;
    taken_ = 0;
    uint64_t level = 2 * static_cast<uint64_t>(peak_);
    if (short_) {
      level = 2 * static_cast<uint64_t>(in_ring_ + peak_);
      peak_ = static_cast<uint32_t>(level < count_ ? level : count_);
      short_ = false;
    }
    if (level < floor_) {
      level = floor_;
    }
    return static_cast<uint32_t>(level < count_ ? level : count_);
  }

  // Calls put(id) for each buffer to add to the ring, most recently used first, until
  // the ring holds `level` (or no buffer is free).
  template <class Put>
  void refill(uint32_t level, Put&& put) {
    while (in_ring_ < level && !free_.empty()) {
      put(free_.back());
      free_.pop_back();
      ++in_ring_;
    }
  }

  uint32_t in_ring() const { return in_ring_; }
  std::size_t free_count() const { return free_.size(); }

 private:
  std::vector<uint16_t> free_;  // LIFO: the top is the buffer used last
  uint32_t count_ = 0;
  uint32_t floor_ = 0;
  uint32_t in_ring_ = 0;
  uint32_t taken_ = 0;  // this turn
  uint32_t peak_ = 0;
  bool short_ = false;
};

}  // namespace wsa::loadgen
