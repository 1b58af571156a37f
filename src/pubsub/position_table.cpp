// Open-addressing (list, subscriber) -> position map. See position_table.h.
#include "pubsub/position_table.h"

#include <bit>

#include "pubsub/hash.h"
#include "util/check.h"

namespace wsa {
namespace {
constexpr std::size_t min_capacity = 16;
}  // namespace

std::size_t position_table::home(uint32_t list, uint32_t subscriber) const {
  // Subscriber ids are dense slot numbers: mix before taking the top bits.
  return hash_mix(static_cast<uint64_t>(list) << 32 | subscriber) >> shift_;
}

std::size_t position_table::locate(uint32_t list, uint32_t subscriber) const {
  if (slots_.empty()) {
    return npos;
  }
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = home(list, subscriber);; i = (i + 1) & mask) {
    const slot& s = slots_[i];
    if (s.list == no_list) {
      return npos;
    }
    if (s.list == list && s.subscriber == subscriber) {
      return i;
    }
  }
}

uint32_t position_table::find(uint32_t list, uint32_t subscriber) const {
  const std::size_t i = locate(list, subscriber);
  return i == npos ? npos : slots_[i].position;
}

void position_table::insert(uint32_t list, uint32_t subscriber, uint32_t position) {
  WSA_ASSERT(list != no_list && locate(list, subscriber) == npos);
  if ((size_ + 1) * 4 > slots_.size() * 3) {
    rehash(slots_.empty() ? min_capacity : slots_.size() * 2);
  }
  place({list, subscriber, position});
  ++size_;
}

void position_table::place(slot s) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = home(s.list, s.subscriber);
  while (slots_[i].list != no_list) {
    i = (i + 1) & mask;
  }
  slots_[i] = s;
}

void position_table::update(uint32_t list, uint32_t subscriber, uint32_t position) {
  const std::size_t i = locate(list, subscriber);
  WSA_ASSERT(i != npos);
  slots_[i].position = position;
}

void position_table::erase(uint32_t list, uint32_t subscriber) {
  std::size_t hole = locate(list, subscriber);
  WSA_ASSERT(hole != npos);
  const std::size_t mask = slots_.size() - 1;
  // Backward shift (see id_table::erase).
  for (std::size_t j = (hole + 1) & mask; slots_[j].list != no_list; j = (j + 1) & mask) {
    const std::size_t h = home(slots_[j].list, slots_[j].subscriber);
    const bool movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
    if (movable) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = {no_list, 0, 0};
  --size_;
  if (slots_.size() > min_capacity && size_ * 8 < slots_.size()) {
    rehash(slots_.size() / 2);
  }
}

void position_table::rehash(std::size_t capacity) {
  std::vector<slot> old;
  old.swap(slots_);
  slots_.assign(capacity, slot{no_list, 0, 0});
  shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
  for (const slot& s : old) {
    if (s.list != no_list) {
      place(s);
    }
  }
}

}  // namespace wsa
