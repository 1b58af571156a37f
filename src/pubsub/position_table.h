// Where each subscriber sits inside a large subscriber_list: (list key, subscriber) ->
// position. It makes add's duplicate check and remove O(1) on a tag with thousands of
// subscribers while the lists themselves stay plain arrays for the fan-out scan. Only lists
// longer than a threshold are entered here (short ones are scanned), so most subscriptions
// cost nothing in this table. 12-byte slots, linear probing, backward-shift deletion; grows
// at 3/4 load, shrinks at 1/8. Owned by a subscription_index; its shard's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsa {

class position_table {
 public:
  static constexpr uint32_t npos = UINT32_MAX;
  static constexpr uint32_t no_list = UINT32_MAX;  ///< reserved: not a valid list key

  /// The position of `subscriber` in list `list`, or npos.
  uint32_t find(uint32_t list, uint32_t subscriber) const;

  /// Records a position; the pair must be absent.
  void insert(uint32_t list, uint32_t subscriber, uint32_t position);

  /// Changes the position of a present pair.
  void update(uint32_t list, uint32_t subscriber, uint32_t position);

  /// Forgets a present pair.
  void erase(uint32_t list, uint32_t subscriber);

  std::size_t size() const { return size_; }
  std::size_t heap_bytes() const { return slots_.capacity() * sizeof(slot); }

 private:
  struct slot {
    uint32_t list;  // no_list: free
    uint32_t subscriber;
    uint32_t position;
  };

  std::size_t home(uint32_t list, uint32_t subscriber) const;
  std::size_t locate(uint32_t list, uint32_t subscriber) const;  // slot index or npos
  void place(slot s);
  void rehash(std::size_t capacity);

  std::vector<slot> slots_;
  std::size_t size_ = 0;
  unsigned shift_ = 64;  // 64 - log2(capacity)
};

}  // namespace wsa
