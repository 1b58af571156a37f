// A compact, unordered array of subscriber ids: the unit the subscription index fans out
// over, so iterating it is a plain scan of contiguous uint32_t. Up to two ids live inline
// (most tags have one or two subscribers and then cost no allocation); beyond that a heap
// array that doubles, and halves again when it falls to a quarter full. Removal moves the
// last id into the hole; the index mirrors that in its position table for large lists.
// Owned by a subscription_index; only its shard's thread touches it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace wsa {

class subscriber_list {
 public:
  static constexpr uint32_t npos = UINT32_MAX;
  static constexpr uint32_t inline_capacity = 2;

  subscriber_list() = default;
  ~subscriber_list();
  subscriber_list(subscriber_list&& other) noexcept;
  subscriber_list& operator=(subscriber_list&& other) noexcept;
  subscriber_list(const subscriber_list&) = delete;
  subscriber_list& operator=(const subscriber_list&) = delete;

  const uint32_t* data() const { return on_heap() ? heap_ : inline_; }
  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint32_t> span() const { return {data(), size_}; }
  uint32_t operator[](uint32_t position) const { return data()[position]; }

  /// Linear search; npos when absent. The index uses it only on short, unindexed lists.
  uint32_t find(uint32_t subscriber) const;

  void push_back(uint32_t subscriber);

  /// Removes the id at `position` by moving the last id into it. Returns the id now at
  /// `position`, or npos when the removed id was the last one.
  uint32_t swap_remove(uint32_t position);

  /// Set while the index keeps this list's positions in its position table.
  bool indexed() const { return indexed_ != 0; }
  void set_indexed(bool indexed) { indexed_ = indexed ? 1 : 0; }

  /// Heap bytes owned (0 while inline).
  std::size_t heap_bytes() const { return on_heap() ? capacity_ * sizeof(uint32_t) : 0; }

 private:
  bool on_heap() const { return capacity_ > inline_capacity; }
  void reallocate(uint32_t capacity);
  void take(subscriber_list& other);  // steals other's storage; ours must be free

  uint32_t size_ = 0;
  uint32_t capacity_ : 31 = inline_capacity;
  uint32_t indexed_ : 1 = 0;
  union {
    uint32_t inline_[inline_capacity] = {};
    uint32_t* heap_;
  };
};

}  // namespace wsa
