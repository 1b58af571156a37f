// Growth and shrinking of subscriber_list. See subscriber_list.h.
#include "pubsub/subscriber_list.h"

#include <cstdlib>
#include <cstring>

#include "util/check.h"

namespace wsa {

subscriber_list::~subscriber_list() {
  if (on_heap()) {
    std::free(heap_);
  }
}

subscriber_list::subscriber_list(subscriber_list&& other) noexcept { take(other); }

subscriber_list& subscriber_list::operator=(subscriber_list&& other) noexcept {
  if (this != &other) {
    if (on_heap()) {
      std::free(heap_);
    }
    take(other);
  }
  return *this;
}

void subscriber_list::take(subscriber_list& other) {
  size_ = other.size_;
  capacity_ = other.capacity_;
  indexed_ = other.indexed_;
  if (other.on_heap()) {
    heap_ = other.heap_;
  } else {
    std::memcpy(inline_, other.inline_, sizeof inline_);
  }
  other.size_ = 0;
  other.capacity_ = inline_capacity;
  other.indexed_ = 0;
}

uint32_t subscriber_list::find(uint32_t subscriber) const {
  const uint32_t* ids = data();
  for (uint32_t i = 0; i < size_; ++i) {
    if (ids[i] == subscriber) {
      return i;
    }
  }
  return npos;
}

void subscriber_list::push_back(uint32_t subscriber) {
  if (size_ == capacity_) {
    WSA_CHECK(capacity_ < (1u << 30), "subscriber list too long");
    reallocate(capacity_ * 2);
  }
  (on_heap() ? heap_ : inline_)[size_++] = subscriber;
}

uint32_t subscriber_list::swap_remove(uint32_t position) {
  uint32_t* ids = on_heap() ? heap_ : inline_;
  const uint32_t last = --size_;
  uint32_t moved = npos;
  if (position != last) {
    ids[position] = ids[last];
    moved = ids[position];
  }
  if (on_heap() && size_ <= capacity_ / 4) {
    reallocate(size_ <= inline_capacity ? inline_capacity : capacity_ / 2);
  }
  return moved;
}

void subscriber_list::reallocate(uint32_t capacity) {
  if (capacity <= inline_capacity) {  // back inline: lists that shrank stop costing a block
    uint32_t* old = heap_;
    std::memcpy(inline_, old, size_ * sizeof(uint32_t));
    std::free(old);
  } else if (on_heap()) {
    auto* grown = static_cast<uint32_t*>(std::realloc(heap_, capacity * sizeof(uint32_t)));
    WSA_CHECK(grown != nullptr, "out of memory");
    heap_ = grown;
  } else {
    auto* fresh = static_cast<uint32_t*>(std::malloc(capacity * sizeof(uint32_t)));
    WSA_CHECK(fresh != nullptr, "out of memory");
    std::memcpy(fresh, inline_, size_ * sizeof(uint32_t));
    heap_ = fresh;
  }
  capacity_ = capacity;
}

}  // namespace wsa
