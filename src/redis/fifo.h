// A FIFO of small records in one power-of-two ring that grows, and shrinks only when its
// owner asks once it is empty: the pending-reply queue of a Redis link, which on a steady
// pipeline must not allocate per request (std::deque frees and reallocates its blocks as the
// queue slides), and which after a burst must not keep the burst's ring.
// Single-threaded; owned by its link.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "util/check.h"

namespace wsa {

template <class T>
class fifo {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  T& front() {
    WSA_ASSERT(size_ > 0);
    return items_[head_];
  }
  void push_back(const T& item) {
    if (size_ == items_.size()) {
      grow();
    }
    items_[(head_ + size_) & (items_.size() - 1)] = item;
    ++size_;
  }
  void pop_front() {
    WSA_ASSERT(size_ > 0);
    head_ = (head_ + 1) & (items_.size() - 1);
    --size_;
  }
  void clear() {
    head_ = 0;
    size_ = 0;
  }
  /// Gives the ring back when the queue is empty and the ring has grown past `keep` items.
  void release_if_empty(std::size_t keep) {
    if (size_ == 0 && items_.size() > keep) {
      std::vector<T>().swap(items_);
      head_ = 0;
    }
  }
  std::size_t capacity() const { return items_.size(); }
  /// Moves every item to `out` (appended, oldest first) and empties the queue.
  void take_all(std::vector<T>& out) {
    for (std::size_t i = 0; i < size_; ++i) {
      out.push_back(std::move(items_[(head_ + i) & (items_.size() - 1)]));
    }
    clear();
  }

 private:
  void grow() {
    std::vector<T> bigger(items_.empty() ? 16 : items_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) {
      bigger[i] = std::move(items_[(head_ + i) & (items_.size() - 1)]);
    }
    items_.swap(bigger);
    head_ = 0;
  }

  std::vector<T> items_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace wsa
