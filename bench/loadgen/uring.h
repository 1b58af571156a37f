// The load generator's io_uring: one ring per worker process, created inside the worker
// (after fork) and used only by its thread, plus one provided-buffer ring that every
// multishot receive of the process draws from.
//
// Why io_uring and not epoll: a subscriber-heavy run has thousands of sockets that each
// get a small batch of frames per server write. With epoll every batch costs a readiness
// event plus a read() syscall per socket; with a multishot receive and provided buffers the
// kernel fills buffers for all sockets and one io_uring_enter per loop turn reaps them all.
// Measured on the 2-core dev VM (kernel 6.18), 1000 loopback sockets each receiving 110-byte
// segments from a paced sender on the other core, receiver doing nothing but receive:
//   100k segments/s: epoll + recv 62% CPU, multishot io_uring 60%
//   200k segments/s: epoll + recv falls behind (170k/s at 92%), io_uring keeps up at 79%
// The rest of the cost is the kernel's per-segment TCP work (copy, the ACK recvmsg sends,
// and on loopback the sender socket's ACK processing): ~4-6 us of CPU per received
// segment, whatever the event loop. The load generator's CPU therefore follows the
// number of segments a server sends, not the number of messages in them.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <string>

#include "buffer_pool.h"

namespace wsa::loadgen {

// user_data layout: kind (8 bits) | generation (24 bits) | connection slot (32 bits).
enum class op_kind : uint8_t { connect = 1, recv, send, cancel, control };

inline uint64_t pack_op(op_kind k, uint32_t gen, uint32_t slot) {
  return (static_cast<uint64_t>(k) << 56) | (static_cast<uint64_t>(gen & 0xffffff) << 32) |
         slot;
}
inline op_kind op_of(uint64_t ud) { return static_cast<op_kind>(ud >> 56); }
inline uint32_t gen_of(uint64_t ud) { return static_cast<uint32_t>(ud >> 32) & 0xffffff; }
inline uint32_t slot_of(uint64_t ud) { return static_cast<uint32_t>(ud); }

class uring {
 public:
  uring() = default;
  uring(const uring&) = delete;
  uring& operator=(const uring&) = delete;
  ~uring();

  // Sets up the ring (SINGLE_ISSUER|DEFER_TASKRUN when the kernel has them) and `count`
  // receive buffers of `size` bytes in buffer group 0, of which the ring holds as many as
  // recent turns needed (buffer_pool.h).
  bool init(unsigned entries, unsigned count, unsigned size, std::string& err);

  // Never null: submits to make room when the SQ is full.
  io_uring_sqe* sqe();

  io_uring* ring() { return &ring_; }
  char* buffer(uint16_t id) { return buffers_ + static_cast<std::size_t>(id) * size_; }
  unsigned buffer_size() const { return size_; }

  // Gives back a buffer a receive completion carried; the kernel may get it again at the
  // next commit_buffers().
  void recycle(uint16_t id) { pool_.give_back(id); }
  // A receive completed with ENOBUFS: the ring gets more buffers at the next commit.
  void ran_short() { pool_.ran_short(); }
  // Once per loop turn, after the turn's completions: tops the ring up to its level.
  void commit_buffers() {
    int added = 0;
    pool_.refill(pool_.next_level(), [this, &added](uint16_t id) {
      io_uring_buf_ring_add(br_, buffer(id), size_, id, mask_, added++);
    });
    if (added != 0) {
      io_uring_buf_ring_advance(br_, added);
    }
  }

 private:
  io_uring ring_{};
  bool ring_ok_ = false;
  io_uring_buf_ring* br_ = nullptr;
  char* buffers_ = nullptr;
  std::size_t buffers_bytes_ = 0;
  unsigned count_ = 0;
  unsigned size_ = 0;
  int mask_ = 0;
  buffer_pool pool_;
};

}  // namespace wsa::loadgen
