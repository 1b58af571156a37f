// The shard's provided-buffer ring for multishot receive: `count` buffers of `size` bytes
// that the kernel fills as data arrives on any of the shard's sockets. A buffer is handed
// back (recycle) as soon as its bytes have been consumed, so receive memory is per shard,
// not per connection: an idle connection holds none. Shard thread only.
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

  /// Registers `count` (a power of two) buffers of `size` bytes as group `group`.
  bool init(ring& owner, uint16_t group, unsigned count, unsigned size, std::string& error);

  uint16_t group() const { return group_; }
  char* buffer(uint16_t id) { return memory_ + std::size_t{id} * size_; }
  unsigned buffer_size() const { return size_; }

  /// Gives buffer `id` back to the kernel.
  void recycle(uint16_t id);

 private:
  ring* ring_ = nullptr;
  io_uring_buf_ring* entries_ = nullptr;
  char* memory_ = nullptr;
  std::size_t entries_bytes_ = 0;
  unsigned count_ = 0;
  unsigned size_ = 0;
  uint16_t group_ = 0;
};

}  // namespace wsa
