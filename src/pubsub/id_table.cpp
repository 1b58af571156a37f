// Open-addressing id set. See id_table.h.
#include "pubsub/id_table.h"

#include <bit>

#include "util/check.h"

namespace wsa {
namespace {
constexpr std::size_t min_capacity = 16;
}  // namespace

void id_table::insert(uint64_t hash, uint32_t id) {
  WSA_ASSERT(id != npos);
  if ((size_ + 1) * 4 > slots_.size() * 3) {
    rehash(slots_.empty() ? min_capacity : slots_.size() * 2);
  }
  place({fingerprint_of(hash), id});
  ++size_;
}

void id_table::place(slot s) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = home(s.fingerprint);
  while (slots_[i].id != npos) {
    i = (i + 1) & mask;
  }
  slots_[i] = s;
}

void id_table::erase(uint64_t hash, uint32_t id) {
  const uint32_t fingerprint = fingerprint_of(hash);
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = home(fingerprint);
  while (slots_[hole].id != id) {
    WSA_ASSERT(slots_[hole].id != npos);
    hole = (hole + 1) & mask;
  }
  // Backward shift: pull later members of the probe run into the hole when the hole lies
  // between their home and their current slot, so lookups never meet a false gap.
  for (std::size_t j = (hole + 1) & mask; slots_[j].id != npos; j = (j + 1) & mask) {
    const std::size_t h = home(slots_[j].fingerprint);
    const bool movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
    if (movable) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = {0, npos};
  --size_;
  if (slots_.size() > min_capacity && size_ * 8 < slots_.size()) {
    rehash(slots_.size() / 2);
  }
}

void id_table::rehash(std::size_t capacity) {
  WSA_CHECK(capacity <= (std::size_t{1} << 31), "id table too large");
  std::vector<slot> old;
  old.swap(slots_);
  slots_.assign(capacity, slot{0, npos});
  shift_ = 32 - static_cast<unsigned>(std::countr_zero(capacity));
  for (const slot& s : old) {
    if (s.id != npos) {
      place(s);
    }
  }
}

}  // namespace wsa
