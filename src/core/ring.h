// One io_uring instance, owned by one shard thread: the only adapter of liburing (with
// buf_ring.cpp, docs/style.md guideline 11). Everything a shard or a Redis link asks of the
// kernel is a method here, and completions come back as plain `completion` values, so no
// liburing type or macro leaks past src/core. What user_data holds is core/op.h's business.
//
// The ring must be created on its thread: IORING_SETUP_SINGLE_ISSUER binds it to its
// creator, and DEFER_TASKRUN delivers completions only when that thread enters the kernel to
// wait (io_uring_setup.2). Falls back to COOP_TASKRUN on kernels without DEFER_TASKRUN, and
// says clearly what is missing when io_uring itself is not available (e.g. Docker's default
// seccomp profile).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

struct io_uring;

namespace wsa {

/// A copy of one completion queue entry.
struct completion {
  uint64_t user_data = 0;
  int32_t result = 0;  ///< cqe->res: bytes, a file descriptor, or -errno
  uint32_t flags = 0;

  // The CQE flag bits we read (checked against liburing's in ring.cpp).
  static constexpr uint32_t flag_buffer = 1u << 0;  ///< IORING_CQE_F_BUFFER
  static constexpr uint32_t flag_more = 1u << 1;    ///< IORING_CQE_F_MORE
  static constexpr unsigned buffer_shift = 16;      ///< IORING_CQE_BUFFER_SHIFT

  /// A multishot operation goes on (no new submission needed).
  bool more() const { return (flags & flag_more) != 0; }
  /// The kernel picked a provided buffer; buffer_id() says which.
  bool has_buffer() const { return (flags & flag_buffer) != 0; }
  uint16_t buffer_id() const { return static_cast<uint16_t>(flags >> buffer_shift); }
};

class ring {
 public:
  ring();
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ~ring();

  /// Sets the ring up on the calling thread. False with a readable `error` if io_uring or a
  /// feature the server needs (multishot accept/recv, provided buffer rings, MSG_RING) is
  /// missing from the running kernel.
  bool init(unsigned sq_entries, std::string& error);

  // ---- operations: each takes one submission entry (submitting first when the queue is
  //      full) and tags it with `user_data` ----

  /// Multishot accept of non-blocking, close-on-exec sockets.
  void accept_multishot(int listen_fd, uint64_t user_data);
  /// Multishot receive into the provided buffers of `buffer_group`.
  void recv_multishot(int fd, uint16_t buffer_group, uint64_t user_data);
  void recv(int fd, void* buffer, std::size_t size, uint64_t user_data);
  /// MSG_NOSIGNAL sends: a vanished peer is an error result, never SIGPIPE.
  void send(int fd, const void* data, std::size_t size, uint64_t user_data);
  void sendmsg(int fd, const msghdr* message, uint64_t user_data);
  void connect(int fd, const sockaddr* address, socklen_t size, uint64_t user_data);
  /// Cancels the operation tagged `target`; its own completion is tagged `user_data`.
  void cancel(uint64_t target, uint64_t user_data);
  /// Cancels every operation on `fd`.
  void cancel_fd(int fd, uint64_t user_data);
  /// Cancels every operation on `fd` and waits until they have ended (for destructors:
  /// nothing may complete into memory about to be freed). Ring thread only.
  void cancel_fd_and_wait(int fd);
  /// Posts a completion tagged `user_data` on another ring (IORING_OP_MSG_RING), waking
  /// its thread; this ring gets no completion for it unless it fails.
  void post_to(int other_ring_fd, uint64_t user_data, uint64_t failure_user_data);

  /// A number for a link (a connection the shard opens itself, e.g. to Redis), unique on
  /// this ring, for core/op.h's link user_data.
  uint32_t allocate_link_id() { return next_link_id_++; }

  // ---- submission and completion ----

  /// Submits everything prepared and waits for at least one completion or `timeout_ms`.
  void submit_and_wait(int64_t timeout_ms);
  /// Submits everything prepared and collects completions without waiting.
  void submit_no_wait();
  /// Marks what is prepared as urgent: a command to the broker, which the shard submits
  /// before it prepares the turn's sends (shard::submit_broker_commands). A submit clears it.
  void expedite() { expedite_ = true; }
  bool expedited() const { return expedite_; }
  /// Work arrived since the last submit that only the next one collects (IORING_SQ_TASKRUN:
  /// with DEFER_TASKRUN a receive completes when the ring's thread enters the kernel).
  bool work_arrived() const;

  /// Calls fn(const completion&) for every completion ready now, in order. fn may prepare
  /// new operations.
  template <class Fn>
  unsigned drain(Fn&& fn) {
    completion batch[reap_batch];
    unsigned total = 0;
    while (true) {
      const unsigned n = reap(batch, reap_batch);
      for (unsigned i = 0; i < n; ++i) {
        fn(static_cast<const completion&>(batch[i]));
      }
      total += n;
      if (n < reap_batch) {
        return total;
      }
    }
  }

  int fd() const;
  /// The liburing handle, for the other adapter of src/core (buf_ring) only.
  io_uring* raw() { return ring_.get(); }

 private:
  static constexpr unsigned reap_batch = 64;
  /// Copies up to `max` ready completions into `out` and marks them seen; returns how many.
  unsigned reap(completion* out, unsigned max);

  std::unique_ptr<io_uring> ring_;
  bool ready_ = false;
  bool expedite_ = false;
  uint32_t next_link_id_ = 0;
};

}  // namespace wsa
