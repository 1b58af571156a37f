// A connection's outbound frames, in order, held by reference (docs/style.md guideline 4). The
// shard sends them with one gathered sendmsg in flight at a time (guideline 6): gather()
// fills an iovec array from the head, consume() retires what the kernel took, handling
// short sends. An idle connection's queue owns no memory: one frame is held inline (the
// usual case at light load), more in a heap array. Emptied, the queue keeps that array for
// the next burst (no allocation per burst) until the shard's sweep finds it still empty
// (release_if_empty), or gives it back at once if a slow reader grew it past
// kept_capacity. Shard thread only.
//
// Every frame pushed gets a position (0, 1, 2... over the queue's life): a frame not yet
// handed to the kernel can be replaced through it (the latest pong replaces an unsent one,
// RFC 6455 5.5.3), without a search.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "net/frame.h"

namespace wsa {

class out_queue {
 public:
  out_queue() = default;
  out_queue(const out_queue&) = delete;
  out_queue& operator=(const out_queue&) = delete;
  ~out_queue() { clear(); }

  bool empty() const { return count_ == 0; }
  /// Bytes queued and not yet acknowledged by a send completion.
  std::size_t bytes() const { return bytes_; }
  /// The position the next frame pushed will get.
  uint64_t next_position() const { return retired_ + count_; }
  /// Frames handed to the kernel by the last gather() and not yet consumed.
  bool in_flight() const { return in_flight_ != 0; }

  /// Appends a frame and takes one reference to it. Returns its position.
  uint64_t push(frame* f) {
    if (count_ == capacity_) {
      grow();
    }
    f->ref();
    slots()[(head_ + count_) & (capacity_ - 1)] = f;
    ++count_;
    bytes_ += f->size();
    return retired_ + count_ - 1;
  }

  /// Appends a frame whose reference the caller hands over. Returns its position.
  uint64_t push_adopt(frame* f) {
    const uint64_t position = push(f);
    f->unref();
    return position;
  }

  /// Puts `f` (taking a reference) in place of the frame at `position` if that frame is
  /// still queued and no byte of it has been handed to the kernel; false otherwise.
  bool replace_unsent(uint64_t position, frame* f);

  /// Fills at most `max` iovecs from the head; returns how many and marks them in flight.
  unsigned gather(iovec* iov, unsigned max);

  /// The kernel sent `sent` bytes of what gather() handed it: retire whole frames.
  void consume(std::size_t sent);

  /// Drops every frame not in flight (the slow-consumer close: only the close frame
  /// follows). Returns the bytes dropped. Positions of dropped frames may be handed out
  /// again: callers forget the ones they kept.
  std::size_t drop_unsent();

  /// Drops everything (the connection is gone).
  void clear();

  /// Gives the heap array back if nothing is queued: called on the shard's sweep, so that
  /// a connection gone quiet holds no queue memory.
  void release_if_empty() {
    if (count_ == 0) {
      release_array();
    }
  }
  /// Heap bytes held by the array (0 while the queue is inline).
  std::size_t heap_bytes() const { return capacity_ > 1 ? capacity_ * sizeof(frame*) : 0; }

  /// An array at most this big is kept when the queue empties (2 KiB).
  static constexpr uint32_t kept_capacity = 256;

 private:
  void grow();
  void release_array();  // the heap array, when empty
  frame** slots() { return capacity_ == 1 ? &one_ : frames_; }

  union {
    frame** frames_ = nullptr;  // capacity_ > 1
    frame* one_;                // capacity_ == 1: the one slot, inline
  };
  uint32_t capacity_ = 0;  // power of two, or 0
  uint32_t head_ = 0;
  uint32_t count_ = 0;
  uint32_t head_offset_ = 0;  // bytes of the head frame already sent
  uint32_t in_flight_ = 0;    // frames from the head included in the send in flight
  std::size_t bytes_ = 0;
  uint64_t retired_ = 0;      // frames that left the head: the head's position
};

}  // namespace wsa
