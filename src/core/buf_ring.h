// The shard's provided-buffer ring for multishot receive: up to `count` buffers of `size`
// bytes that the kernel fills as data arrives on any of the shard's sockets. A buffer is
// handed back (recycle) as soon as its bytes have been consumed, so receive memory is per
// shard, not per connection: an idle connection holds none. The kernel takes buffers in
// ring order (FIFO), so every buffer provided is touched sooner or later: only `initial`
// are provided at first, and more (doubling) once a receive found none left (grow), so a
// lightly loaded shard keeps a few pages resident instead of count x size. After a burst
// (a connection storm touches hundreds of buffers) the shard gives the pages back once the
// ring goes quiet (release_if_quiet). Shard thread only.
// liburing 2.3 has no io_uring_setup_buf_ring (2.4), so the ring is mapped by hand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

struct io_uring_buf_ring;

namespace wsa {

class ring;

class buf_ring {
 public:
  buf_ring() = default;
  buf_ring(const buf_ring&) = delete;
  buf_ring& operator=(const buf_ring&) = delete;
  ~buf_ring();

  /// Registers a ring for `count` (a power of two) buffers of `size` bytes as group `group`
  /// and provides the first `initial` of them (at most count).
  bool init(ring& owner, uint16_t group, unsigned count, unsigned size, unsigned initial,
            std::string& error);

  /// A receive found no buffer: provide twice as many (up to count). False at the maximum.
  bool grow();
  /// Buffers provided so far.
  unsigned provided() const { return provided_; }

  uint16_t group() const { return group_; }
  char* buffer(uint16_t id) { return memory_ + std::size_t{id} * size_; }
  unsigned buffer_size() const { return size_; }

  /// Gives buffer `id` back to the kernel.
  void recycle(uint16_t id);

  /// Called now and then (the shard: once a second). If fewer buffers than are provided were
  /// filled since the last call (the ring did not go round once: light load) and some were
  /// since the pages were last released, the pages go back to the system (MADV_DONTNEED);
  /// the kernel fills fresh zero pages when it next takes them. Safe only because every
  /// buffer whose completion was reaped is back in the ring (the shard recycles each one as
  /// soon as its bytes are consumed), nothing is released while a completion waits to be
  /// reaped (it may carry a filled buffer: then the next call tries again), and the kernel
  /// fills buffers only in this thread's task work (io_uring_enter or the return to user
  /// space), never concurrently with this call. True if released.
  bool release_if_quiet();

 private:
  void provide(unsigned total);  // buffers [provided_, total) to the kernel

  ring* ring_ = nullptr;
  io_uring_buf_ring* entries_ = nullptr;
  char* memory_ = nullptr;
  std::size_t entries_bytes_ = 0;
  unsigned count_ = 0;
  unsigned provided_ = 0;
  unsigned filled_ = 0;    // buffers recycled since the last release_if_quiet
  bool touched_ = false;  // some were since the pages were last released
  unsigned size_ = 0;
  uint16_t group_ = 0;
};

}  // namespace wsa
