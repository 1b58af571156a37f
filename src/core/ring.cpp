#include "core/ring.h"

#include <liburing.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "util/check.h"

namespace wsa {
namespace {

bool probe_ops(io_uring* ring, std::string& error) {
  std::unique_ptr<io_uring_probe, void (*)(io_uring_probe*)> probe(
      io_uring_get_probe_ring(ring), io_uring_free_probe);
  if (!probe) {
    error = "io_uring: the kernel does not answer IORING_REGISTER_PROBE (needs Linux >= 6.1)";
    return false;
  }
  struct needed {
    int op;
    const char* name;
  };
  for (auto [op, name] : {needed{IORING_OP_ACCEPT, "ACCEPT"}, needed{IORING_OP_RECV, "RECV"},
                          needed{IORING_OP_SENDMSG, "SENDMSG"},
                          needed{IORING_OP_MSG_RING, "MSG_RING"},
                          needed{IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"}}) {
    if (!io_uring_opcode_supported(probe.get(), op)) {
      error = std::string("io_uring: the kernel lacks IORING_OP_") + name +
              " (wsagent needs Linux >= 6.1)";
      return false;
    }
  }
  return true;
}

static_assert(completion::flag_buffer == IORING_CQE_F_BUFFER);
static_assert(completion::flag_more == IORING_CQE_F_MORE);
static_assert(completion::buffer_shift == IORING_CQE_BUFFER_SHIFT);

}  // namespace

ring::ring() : ring_(std::make_unique<io_uring>()) {}

ring::~ring() {
  if (ready_) {
    io_uring_queue_exit(ring_.get());
  }
}

int ring::fd() const { return ring_->ring_fd; }

bool ring::init(unsigned sq_entries, std::string& error) {
  io_uring_params params{};
  // Multishot receive floods the completion queue: give it room (docs/style.md, io_uring notes).
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                 IORING_SETUP_SUBMIT_ALL | IORING_SETUP_TASKRUN_FLAG;
  params.cq_entries = sq_entries * 8;
  int rc = io_uring_queue_init_params(sq_entries, ring_.get(), &params);
  if (rc == -EINVAL) {
    // Kernels before 6.1 lack DEFER_TASKRUN: cooperative task running is the next best.
    params = {};
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL |
                   IORING_SETUP_TASKRUN_FLAG;
    params.cq_entries = sq_entries * 8;
    rc = io_uring_queue_init_params(sq_entries, ring_.get(), &params);
  }
  if (rc < 0) {
    if (rc == -EPERM || rc == -ENOSYS) {
      error = std::string("io_uring is not permitted here (") + std::strerror(-rc) +
              "): in Docker run with the seccomp profile in docker/ (or "
              "--security-opt seccomp=unconfined); check kernel.io_uring_disabled";
    } else {
      error = std::string("io_uring_queue_init failed: ") + std::strerror(-rc);
    }
    return false;
  }
  ready_ = true;
  if (!(params.features & IORING_FEAT_EXT_ARG)) {
    error = "io_uring: the kernel lacks IORING_FEAT_EXT_ARG (wsagent needs Linux >= 6.1)";
    return false;
  }
  return probe_ops(ring_.get(), error);
}

namespace {

// A free submission entry; when the queue is full, what is queued goes to the kernel first.
io_uring_sqe* next_sqe(io_uring* r) {
  io_uring_sqe* entry = io_uring_get_sqe(r);
  if (entry == nullptr) [[unlikely]] {
    int rc = io_uring_submit(r);
    WSA_CHECK(rc >= 0, "io_uring_submit");
    entry = io_uring_get_sqe(r);
    WSA_CHECK(entry != nullptr, "io_uring submission queue still full after submit");
  }
  return entry;
}

}  // namespace

void ring::accept_multishot(int listen_fd, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(ring_.get());
  io_uring_prep_multishot_accept(sqe, listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, user_data);
}

void ring::recv_multishot(int fd, uint16_t buffer_group, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(ring_.get());
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffer_group;
  io_uring_sqe_set_data64(sqe, user_data);
}

void ring::recv(int fd, void* buffer, std::size_t size, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(ring_.get());
  io_uring_prep_recv(sqe, fd, buffer, size, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void ring::send(int fd, const void* data, std::size_t size, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(ring_.get());
  io_uring_prep_send(sqe, fd, data, size, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, user_data);
}

void ring::sendmsg(int fd, const msghdr* message, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(ring_.get());
  io_uring_prep_sendmsg(sqe, fd, message, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, user_data);
}

void ring::connect(int fd, const sockaddr* address, socklen_t size, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(ring_.get());
  io_uring_prep_connect(sqe, fd, address, size);
  io_uring_sqe_set_data64(sqe, user_data);
}

void ring::cancel(uint64_t target, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(ring_.get());
  io_uring_prep_cancel64(sqe, target, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void ring::cancel_fd(int fd, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(ring_.get());
  io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, user_data);
}

void ring::cancel_fd_and_wait(int fd) {
  io_uring_sync_cancel_reg reg{};
  reg.fd = fd;
  reg.flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
  reg.timeout.tv_sec = -1;
  reg.timeout.tv_nsec = -1;
  io_uring_register_sync_cancel(ring_.get(), &reg);
}

void ring::post_to(int other_ring_fd, uint64_t user_data, uint64_t failure_user_data) {
  io_uring_sqe* sqe = next_sqe(ring_.get());
  io_uring_prep_msg_ring(sqe, other_ring_fd, 0, user_data, 0);
  io_uring_sqe_set_data64(sqe, failure_user_data);
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void ring::submit_and_wait(int64_t timeout_ms) {
  __kernel_timespec ts{};
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = (timeout_ms % 1000) * 1000000;
  io_uring_cqe* cqe = nullptr;
  expedite_ = false;
  int rc = io_uring_submit_and_wait_timeout(ring_.get(), &cqe, 1, &ts, nullptr);
  WSA_CHECK(rc >= 0 || rc == -ETIME || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY,
            "io_uring_submit_and_wait_timeout");
}

void ring::submit_no_wait() {
  expedite_ = false;
  int rc = io_uring_submit_and_get_events(ring_.get());
  WSA_CHECK(rc >= 0 || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY,
            "io_uring_submit_and_get_events");
}

bool ring::work_arrived() const {
  return (IO_URING_READ_ONCE(*ring_->sq.kflags) & IORING_SQ_TASKRUN) != 0;
}

unsigned ring::reap(completion* out, unsigned max) {
  unsigned head;
  unsigned count = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(ring_.get(), head, cqe) {
    if (count == max) {
      break;
    }
    out[count++] = completion{cqe->user_data, cqe->res, cqe->flags};
  }
  io_uring_cq_advance(ring_.get(), count);
  return count;
}

}  // namespace wsa
