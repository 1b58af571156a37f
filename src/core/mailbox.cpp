#include "core/mailbox.h"

#include <cstdlib>
#include <cstring>

#include "util/check.h"

namespace wsa {

mailbox::mailbox(std::size_t capacity_bytes)
    : data_(static_cast<char*>(std::aligned_alloc(64, capacity_bytes))),
      capacity_(capacity_bytes),
      mask_(capacity_bytes - 1) {
  WSA_CHECK((capacity_bytes & mask_) == 0 && capacity_bytes >= 4096, "mailbox capacity");
  WSA_CHECK(data_ != nullptr, "out of memory");
}

mailbox::~mailbox() { std::free(data_); }

char* mailbox::reserve_in_ring(std::size_t bytes) {
  const std::size_t pos = write_ & mask_;
  const std::size_t to_end = capacity_ - pos;
  // A record never wraps: if it does not fit before the end, skip to the start.
  const std::size_t needed = bytes <= to_end ? bytes : to_end + bytes;
  if (write_ + needed - head_cache_ > capacity_) {
    head_cache_ = head_.load(std::memory_order_acquire);
    if (write_ + needed - head_cache_ > capacity_) {
      return nullptr;
    }
  }
  if (bytes > to_end) {
    reinterpret_cast<header*>(data_ + pos)->type = 0;
    write_ += to_end;
  }
  char* out = data_ + (write_ & mask_);
  write_ += bytes;
  return out;
}

char* mailbox::begin_record(uint32_t type, uint32_t size) {
  WSA_ASSERT(type != 0 && pending_ == nullptr && !writing_overflow_);
  const std::size_t bytes = sizeof(header) + align(size);
  char* at = nullptr;
  if (overflow_.empty() && bytes <= capacity_ / 2) {
    at = reserve_in_ring(bytes);
  }
  if (at == nullptr) {
    // Ring full (or the record is huge): keep order by queueing behind earlier overflow.
    overflow_.emplace_back(sizeof(header) + size, '\0');
    overflow_bytes_ += overflow_.back().size();
    at = overflow_.back().data();
    writing_overflow_ = true;
  }
  auto* h = reinterpret_cast<header*>(at);
  h->type = type;
  h->size = size;
  pending_ = at;
  return at + sizeof(header);
}

void mailbox::end_record() {
  pending_ = nullptr;
  writing_overflow_ = false;
}

bool mailbox::publish() {
  while (!overflow_.empty()) {
    const std::string& record = overflow_.front();
    const std::size_t bytes = align(record.size());
    // Larger than a ring half: a record this size cannot be carried. Callers keep records
    // below max_record_bytes() (frames are bounded by this node's max_message_bytes, and
    // larger ones from Redis are dropped by the broker), so reaching this is a bug.
    WSA_CHECK(bytes <= capacity_ / 2, "mailbox record larger than half the ring");
    char* at = reserve_in_ring(bytes);
    if (at == nullptr) {
      break;
    }
    std::memcpy(at, record.data(), record.size());
    overflow_bytes_ -= record.size();
    overflow_.pop_front();
  }
  if (tail_.load(std::memory_order_relaxed) == write_) {
    return false;
  }
  tail_.store(write_, std::memory_order_release);
  return true;
}

}  // namespace wsa
