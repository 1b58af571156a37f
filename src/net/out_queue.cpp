#include "net/out_queue.h"

#include <cstdlib>

#include "util/check.h"

namespace wsa {

void out_queue::grow() {
  if (capacity_ == 0) {
    one_ = nullptr;
    capacity_ = 1;
    head_ = 0;
    return;
  }
  const uint32_t capacity = capacity_ == 1 ? 8 : capacity_ * 2;
  auto** frames = static_cast<frame**>(std::malloc(sizeof(frame*) * capacity));
  WSA_CHECK(frames != nullptr, "out of memory");
  frame** old = slots();
  for (uint32_t i = 0; i < count_; ++i) {
    frames[i] = old[(head_ + i) & (capacity_ - 1)];
  }
  if (capacity_ > 1) {
    std::free(frames_);
  }
  frames_ = frames;
  capacity_ = capacity;
  head_ = 0;
}

void out_queue::release_array() {
  if (capacity_ > 1) {
    std::free(frames_);
    frames_ = nullptr;
    capacity_ = 0;
  }
  head_ = 0;
}

unsigned out_queue::gather(iovec* iov, unsigned max) {
  unsigned n = 0;
  for (; n < count_ && n < max; ++n) {
    frame* f = slots()[(head_ + n) & (capacity_ - 1)];
    const uint32_t skip = n == 0 ? head_offset_ : 0;
    iov[n].iov_base = f->data() + skip;
    iov[n].iov_len = f->size() - skip;
  }
  in_flight_ = n;
  return n;
}

void out_queue::consume(std::size_t sent) {
  WSA_ASSERT(sent <= bytes_);
  bytes_ -= sent;
  while (sent > 0) {
    frame* f = slots()[head_];
    const std::size_t left = f->size() - head_offset_;
    if (sent < left) {
      head_offset_ += static_cast<uint32_t>(sent);
      break;
    }
    sent -= left;
    head_offset_ = 0;
    f->unref();
    head_ = (head_ + 1) & (capacity_ - 1);
    --count_;
    ++retired_;
  }
  in_flight_ = 0;
  if (count_ == 0 && capacity_ > kept_capacity) {
    release_array();  // a slow reader's backlog: not worth keeping until the sweep
  }
}

bool out_queue::replace_unsent(uint64_t position, frame* f) {
  if (position < retired_ || position - retired_ >= count_) {
    return false;  // sent already (or dropped)
  }
  const auto index = static_cast<uint32_t>(position - retired_);
  if (index < in_flight_ || (index == 0 && head_offset_ != 0)) {
    return false;  // the kernel has (some of) it
  }
  frame*& slot = slots()[(head_ + index) & (capacity_ - 1)];
  bytes_ = bytes_ - slot->size() + f->size();
  f->ref();
  slot->unref();
  slot = f;
  return true;
}

std::size_t out_queue::drop_unsent() {
  // Keep the frames in flight, and a partly sent head even if no send is in flight: the
  // peer must never see half a frame.
  uint32_t keep = in_flight_;
  if (keep == 0 && head_offset_ != 0) {
    keep = 1;
  }
  std::size_t dropped = 0;
  while (count_ > keep) {
    frame* f = slots()[(head_ + count_ - 1) & (capacity_ - 1)];
    dropped += f->size();
    f->unref();
    --count_;
  }
  bytes_ -= dropped;
  return dropped;
}

void out_queue::clear() {
  for (uint32_t i = 0; i < count_; ++i) {
    slots()[(head_ + i) & (capacity_ - 1)]->unref();
  }
  retired_ += count_;  // positions handed out are never valid again
  release_array();
  count_ = 0;
  head_offset_ = 0;
  in_flight_ = 0;
  bytes_ = 0;
}

}  // namespace wsa
