// The handshake that keeps a shard from sleeping through mail (docs/style.md guideline 2):
// a consumer about to wait announces it, then looks at its mailboxes; a producer publishes
// its mail, then looks whether the consumer announced sleep, and if so rings its doorbell
// (MSG_RING). Both sides store, then load the other's variable, with a full fence between
// (Dekker): at least one of them sees the other, so mail is never left for a sleeper. The
// doorbell itself carries no data and creates no ordering (ThreadSanitizer cannot see
// MSG_RING), so everything here is plain atomics, testable without io_uring.
// Shared between the consumer shard (writer) and its producers (readers).
#pragma once

#include <atomic>

namespace wsa {

class wakeup_flag {
 public:
  /// Consumer: before its last look at the mailboxes ahead of a wait.
  void going_to_sleep() {
    asleep_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  /// Consumer: back from the wait.
  void awake() { asleep_.store(false, std::memory_order_relaxed); }
  /// Producer: after publishing mail to this consumer; true when it must ring.
  bool must_ring() const {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return asleep_.load(std::memory_order_relaxed);
  }

 private:
  alignas(64) std::atomic<bool> asleep_{false};
};

}  // namespace wsa
