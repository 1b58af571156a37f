// io_uring setup with fallbacks, and the provided-buffer ring that liburing 2.3 has no
// helper for (io_uring_setup_buf_ring is 2.4).
#include "uring.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace wsa::loadgen {

namespace {
// The fewest buffers kept in the ring: a turn of a few dozen receives never runs short.
constexpr uint32_t min_ring_buffers = 64;
// Receive-buffer memory made resident at start (the buffers with the lowest ids).
constexpr std::size_t prefault_bytes_max = std::size_t{32} << 20;
}  // namespace

uring::~uring() {
  if (ring_ok_) {
    if (br_ != nullptr) {
      io_uring_unregister_buf_ring(&ring_, 0);
    }
    io_uring_queue_exit(&ring_);
  }
  if (br_ != nullptr) {
    munmap(br_, count_ * sizeof(io_uring_buf));
  }
  if (buffers_ != nullptr) {
    munmap(buffers_, buffers_bytes_);
  }
}

bool uring::init(unsigned entries, unsigned count, unsigned size, std::string& err) {
  io_uring_params p{};
  // Multishot receives flood the completion queue; give it room.
  p.cq_entries = entries * 8;
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
            IORING_SETUP_DEFER_TASKRUN;
  int rc = io_uring_queue_init_params(entries, &ring_, &p);
  if (rc == -EINVAL) {
    p = io_uring_params{};
    p.cq_entries = entries * 8;
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
    rc = io_uring_queue_init_params(entries, &ring_, &p);
  }
  if (rc < 0) {
    err = std::string("io_uring_queue_init: ") + std::strerror(-rc) +
          (rc == -EPERM ? " (io_uring disabled, e.g. by a seccomp profile)" : "");
    return false;
  }
  ring_ok_ = true;
  // io_uring_enter then skips looking the ring's file up on every call; optional.
  io_uring_register_ring_fd(&ring_);

  count_ = count;
  size_ = size;
  mask_ = io_uring_buf_ring_mask(count);
  std::size_t ring_bytes = count * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1,
                   0);
  if (mem == MAP_FAILED) {
    err = std::string("mmap buffer ring: ") + std::strerror(errno);
    return false;
  }
  br_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = count;
  reg.bgid = 0;
  rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (rc < 0) {
    munmap(br_, ring_bytes);
    br_ = nullptr;
    err = std::string("io_uring_register_buf_ring: ") + std::strerror(-rc) +
          " (kernel 5.19 or later needed)";
    return false;
  }
  // Huge pages where the kernel has them (fewer TLB misses in the receive copy), and the
  // pages of the buffers handed out first faulted in now: otherwise each first use of a
  // buffer page takes a fault inside the receive, during the measured window. The pool
  // hands out the lowest ids first and reuses the warmest (buffer_pool.h), so buffers past
  // the first 32 MiB are touched only by a burst that needs more at once; until then they
  // are mapped, not resident.
  buffers_bytes_ = static_cast<std::size_t>(count) * size;
  void* bufs = mmap(nullptr, buffers_bytes_, PROT_READ | PROT_WRITE,
                    MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE, -1, 0);
  if (bufs == MAP_FAILED) {
    err = std::string("mmap receive buffers: ") + std::strerror(errno);
    return false;
  }
  buffers_ = static_cast<char*>(bufs);
  madvise(buffers_, buffers_bytes_, MADV_HUGEPAGE);  // a hint; fine if refused
  std::size_t prefault_bytes = std::min(buffers_bytes_, prefault_bytes_max);
  for (std::size_t off = 0; off < prefault_bytes; off += 4096) {
    buffers_[off] = 0;
  }
  io_uring_buf_ring_init(br_);
  pool_.init(count, min_ring_buffers);
  commit_buffers();
  return true;
}

io_uring_sqe* uring::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  while (s == nullptr) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

}  // namespace wsa::loadgen
