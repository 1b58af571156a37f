// One direction of cross-shard messaging: a single-producer single-consumer ring of
// variable-length records (docs/style.md guideline 2). The producer shard writes records during
// its loop turn and makes them visible once per turn (publish); the consumer shard reads
// them in order on its next turn. Ordering is FIFO per direction, which the pub/sub layer
// relies on (a tag's messages and a subscription's reply travel the same road).
//
// When the ring is full the producer keeps records in a private overflow list, still in
// order, and moves them into the ring on later turns; nothing is dropped and the producer
// never blocks. The overflow's size is the producer's to bound (overflow_bytes): a shard
// stops producing for a peer whose backlog passed its limit (docs/limits.md). Only the data moves through memory here; waking a sleeping consumer is
// the shard's job (MSG_RING doorbell).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace wsa {

class mailbox {
 public:
  explicit mailbox(std::size_t capacity_bytes);  // a power of two
  ~mailbox();
  mailbox(const mailbox&) = delete;
  mailbox& operator=(const mailbox&) = delete;

  // ---- producer thread ----

  /// Space for a record of `size` bytes of payload with type `type` (> 0); fill it, then
  /// call end_record(). Records become visible to the consumer at publish().
  char* begin_record(uint32_t type, uint32_t size);
  void end_record();
  /// Moves overflowed records into the ring where they fit and makes everything written so
  /// far visible. Returns true if anything new became visible.
  bool publish();
  bool has_overflow() const { return !overflow_.empty(); }
  /// Bytes waiting in the overflow list (records the ring had no room for yet).
  std::size_t overflow_bytes() const { return overflow_bytes_; }
  /// The largest record payload the mailbox can carry (larger ones are the caller's bug).
  std::size_t max_record_bytes() const { return capacity_ / 2 - sizeof(header) - 8; }

  // ---- consumer thread ----

  /// Calls fn(type, std::string_view payload) for each visible record, in order; returns
  /// how many. Payload views are valid only during the call.
  template <class Fn>
  std::size_t consume(Fn&& fn);
  /// True when records are visible (consumer side, or anyone for a wake-up decision).
  bool readable() const {
    return head_.load(std::memory_order_relaxed) != tail_.load(std::memory_order_acquire);
  }

 private:
  struct header {
    uint32_t type;  // 0 marks "wrap to the start"
    uint32_t size;
  };
  static constexpr std::size_t align(std::size_t n) { return (n + 7) & ~std::size_t{7}; }
  char* reserve_in_ring(std::size_t bytes);

  char* data_;
  const std::size_t capacity_;
  const std::size_t mask_;

  // Producer-owned: write position not yet published, and a cached copy of the head.
  alignas(64) uint64_t write_ = 0;
  uint64_t head_cache_ = 0;
  std::deque<std::string> overflow_;  // whole records (header + payload), in order
  std::size_t overflow_bytes_ = 0;
  bool writing_overflow_ = false;
  char* pending_ = nullptr;  // record being written (ring)

  alignas(64) std::atomic<uint64_t> tail_{0};  // published by the producer
  alignas(64) std::atomic<uint64_t> head_{0};  // advanced by the consumer
};

template <class Fn>
std::size_t mailbox::consume(Fn&& fn) {
  uint64_t head = head_.load(std::memory_order_relaxed);
  const uint64_t tail = tail_.load(std::memory_order_acquire);
  std::size_t count = 0;
  while (head != tail) {
    const std::size_t pos = head & mask_;
    const auto* h = reinterpret_cast<const header*>(data_ + pos);
    if (h->type == 0) {
      head += capacity_ - pos;
      continue;
    }
    fn(h->type, std::string_view(data_ + pos + sizeof(header), h->size));
    head += sizeof(header) + align(h->size);
    ++count;
    if ((count & 63) == 0) {
      head_.store(head, std::memory_order_release);  // free space early for the producer
    }
  }
  head_.store(head, std::memory_order_release);
  return count;
}

}  // namespace wsa
