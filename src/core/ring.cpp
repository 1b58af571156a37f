#include "core/ring.h"

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

}  // namespace

ring::~ring() {
  if (ready_) {
    io_uring_queue_exit(&ring_);
  }
}

bool ring::init(unsigned sq_entries, std::string& error) {
  io_uring_params params{};
  // Multishot receive floods the completion queue: give it room (docs/style.md, io_uring notes).
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                 IORING_SETUP_SUBMIT_ALL;
  params.cq_entries = sq_entries * 8;
  int rc = io_uring_queue_init_params(sq_entries, &ring_, &params);
  if (rc == -EINVAL) {
    // Kernels before 6.1 lack DEFER_TASKRUN: cooperative task running is the next best.
    params = {};
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL;
    params.cq_entries = sq_entries * 8;
    rc = io_uring_queue_init_params(sq_entries, &ring_, &params);
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
  return probe_ops(&ring_, error);
}

io_uring_sqe* ring::sqe() {
  io_uring_sqe* entry = io_uring_get_sqe(&ring_);
  if (entry == nullptr) [[unlikely]] {
    // Full: push what is queued to the kernel and take a fresh entry.
    int rc = io_uring_submit(&ring_);
    WSA_CHECK(rc >= 0, "io_uring_submit");
    entry = io_uring_get_sqe(&ring_);
    WSA_CHECK(entry != nullptr, "io_uring submission queue still full after submit");
  }
  return entry;
}

void ring::submit_and_wait(int64_t timeout_ms) {
  __kernel_timespec ts{};
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = (timeout_ms % 1000) * 1000000;
  io_uring_cqe* cqe = nullptr;
  int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  WSA_CHECK(rc >= 0 || rc == -ETIME || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY,
            "io_uring_submit_and_wait_timeout");
}

void ring::submit_no_wait() {
  int rc = io_uring_submit_and_get_events(&ring_);
  WSA_CHECK(rc >= 0 || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY,
            "io_uring_submit_and_get_events");
}

}  // namespace wsa
