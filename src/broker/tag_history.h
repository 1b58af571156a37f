// The retained messages of one tag in the embedded broker, oldest first: a ring of message
// references that starts small and doubles up to the history size, so that a tag with few
// messages costs little. The caller keeps the seq of the newest entry (the tag's top); entry
// i then has seq top - count + 1 + i. Owner shard's thread only.
#pragma once

#include <cstdint>
#include <vector>

#include "broker/message.h"

namespace wsa {

class tag_history {
 public:
  tag_history() = default;
  tag_history(const tag_history&) = delete;
  tag_history& operator=(const tag_history&) = delete;
  ~tag_history() { clear(); }

  uint32_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  /// Slots allocated (each holds one message pointer).
  std::size_t capacity() const { return ring_.capacity(); }

  /// Entry i, 0 being the oldest (i < count()).
  message* at(uint32_t i) const { return ring_[(head_ + i) % ring_.size()]; }

  /// Appends `msg` (takes a reference). When `limit` entries are already held, the oldest
  /// leaves the ring and is returned (its reference passes to the caller); else nullptr.
  /// `limit` must be at least 1.
  message* push(message* msg, uint32_t limit) {
    const auto size = static_cast<uint32_t>(ring_.size());
    if (count_ == size && size < limit) {
      grow(size == 0 ? (limit < 8 ? limit : 8) : (size * 2 < limit ? size * 2 : limit));
    }
    msg->ref();
    if (count_ < ring_.size()) {
      ring_[(head_ + count_) % ring_.size()] = msg;
      ++count_;
      return nullptr;
    }
    message* oldest = ring_[head_];
    ring_[head_] = msg;
    head_ = (head_ + 1) % static_cast<uint32_t>(ring_.size());
    return oldest;
  }

  /// Removes the oldest entry; its reference passes to the caller. Not when empty().
  message* pop_oldest() {
    message* oldest = ring_[head_];
    ring_[head_] = nullptr;
    head_ = (head_ + 1) % static_cast<uint32_t>(ring_.size());
    --count_;
    if (count_ == 0) {
      release();  // an emptied tag gives its slots back
    }
    return oldest;
  }

  /// Drops every entry and the ring itself.
  void clear() {
    for (uint32_t i = 0; i < count_; ++i) {
      at(i)->unref();
    }
    count_ = 0;
    release();
  }

 private:
  void grow(uint32_t capacity) {
    std::vector<message*> ring(capacity, nullptr);
    for (uint32_t i = 0; i < count_; ++i) {
      ring[i] = at(i);
    }
    ring_.swap(ring);
    head_ = 0;
  }
  void release() {
    std::vector<message*>().swap(ring_);
    head_ = 0;
  }

  std::vector<message*> ring_;
  uint32_t head_ = 0;
  uint32_t count_ = 0;
};

}  // namespace wsa
