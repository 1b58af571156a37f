// One io_uring instance, owned by one shard thread. It must be created on that thread:
// IORING_SETUP_SINGLE_ISSUER binds the ring to its creator, and DEFER_TASKRUN delivers
// completions only when that thread enters the kernel to wait (io_uring_setup.2).
// Falls back to COOP_TASKRUN on kernels without DEFER_TASKRUN, and says clearly what is
// missing when io_uring itself is not available (e.g. Docker's default seccomp profile).
#pragma once

#include <liburing.h>

#include <cstdint>
#include <string>

namespace wsa {

class ring {
 public:
  ring() = default;
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ~ring();

  /// Sets the ring up on the calling thread. False with a readable `error` if io_uring or a
  /// feature the server needs (multishot accept/recv, provided buffer rings, MSG_RING) is
  /// missing from the running kernel.
  bool init(unsigned sq_entries, std::string& error);

  /// A free submission entry; when the queue is full it submits what is there first.
  io_uring_sqe* sqe();

  /// Submits everything prepared and waits for at least one completion or `timeout_ms`.
  void submit_and_wait(int64_t timeout_ms);
  /// Submits everything prepared and collects completions without waiting.
  void submit_no_wait();

  /// Calls fn(const io_uring_cqe&) for every completion ready now, then marks them seen.
  template <class Fn>
  unsigned drain(Fn&& fn) {
    unsigned head;
    unsigned count = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      fn(*cqe);
      ++count;
    }
    io_uring_cq_advance(&ring_, count);
    return count;
  }

  int fd() const { return ring_.ring_fd; }
  io_uring* raw() { return &ring_; }

 private:
  io_uring ring_{};
  bool ready_ = false;
};

}  // namespace wsa
