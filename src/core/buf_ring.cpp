#include "core/buf_ring.h"

#include <liburing.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/ring.h"

namespace wsa {

buf_ring::~buf_ring() {
  if (entries_ != nullptr) {
    io_uring_unregister_buf_ring(ring_->raw(), group_);
    munmap(entries_, entries_bytes_);
  }
  if (memory_ != nullptr) {
    munmap(memory_, std::size_t{count_} * size_);
  }
}

bool buf_ring::init(ring& owner, uint16_t group, unsigned count, unsigned size,
                    unsigned initial, std::string& error) {
  ring_ = &owner;
  group_ = group;
  count_ = count;
  size_ = size;
  // The ring of buffer descriptors must be page aligned: mmap gives that.
  entries_bytes_ = sizeof(io_uring_buf) * count;
  void* entries = mmap(nullptr, entries_bytes_, PROT_READ | PROT_WRITE,
                       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (entries == MAP_FAILED) {
    error = std::string("mmap for the buffer ring: ") + std::strerror(errno);
    return false;
  }
  entries_ = static_cast<io_uring_buf_ring*>(entries);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(entries_);
  reg.ring_entries = count;
  reg.bgid = group;
  int rc = io_uring_register_buf_ring(owner.raw(), &reg, 0);
  if (rc < 0) {
    munmap(entries_, entries_bytes_);
    entries_ = nullptr;
    error = std::string("io_uring_register_buf_ring: ") + std::strerror(-rc) +
            " (provided buffer rings need Linux >= 5.19)";
    return false;
  }
  void* memory = mmap(nullptr, std::size_t{count} * size, PROT_READ | PROT_WRITE,
                      MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (memory == MAP_FAILED) {
    error = std::string("mmap for receive buffers: ") + std::strerror(errno);
    return false;
  }
  memory_ = static_cast<char*>(memory);
  io_uring_buf_ring_init(entries_);
  provide(std::min(std::max(initial, 1u), count));
  return true;
}

void buf_ring::provide(unsigned total) {
  const int mask = io_uring_buf_ring_mask(count_);
  int added = 0;
  for (unsigned id = provided_; id < total; ++id) {
    io_uring_buf_ring_add(entries_, buffer(static_cast<uint16_t>(id)), size_,
                          static_cast<unsigned short>(id), mask, added++);
  }
  io_uring_buf_ring_advance(entries_, added);
  provided_ = total;
}

bool buf_ring::grow() {
  if (provided_ >= count_) {
    return false;
  }
  provide(std::min(provided_ * 2, count_));
  return true;
}

void buf_ring::recycle(uint16_t id) {
  io_uring_buf_ring_add(entries_, buffer(id), size_, id, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(entries_, 1);
  ++filled_;
}

bool buf_ring::release_if_quiet() {
  const bool quiet = filled_ < provided_;
  touched_ = touched_ || filled_ > 0;
  filled_ = 0;
  // A completion not reaped yet (or held in the kernel's overflow list) may carry a filled
  // buffer whose bytes nobody has read: try again at the next call.
  io_uring* raw = ring_->raw();
  if (!quiet || !touched_ || io_uring_cq_ready(raw) != 0 || io_uring_cq_has_overflow(raw)) {
    return false;
  }
  touched_ = false;
  return madvise(memory_, std::size_t{provided_} * size_, MADV_DONTNEED) == 0;
}

}  // namespace wsa
