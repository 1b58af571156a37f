// A request's tags as a set. See tag_set.h.
#include "pubsub/tag_set.h"

#include "pubsub/hash.h"

namespace wsa {

tag_set::tag_set(std::span<const std::string_view> tags) : tag_set(tags, false) {}

tag_set tag_set::last_wins(std::span<const std::string_view> tags) { return tag_set(tags, true); }

tag_set::tag_set(std::span<const std::string_view> tags, bool last_wins)
    : tags_(tags), repeated_(tags.size(), 0) {
  const std::size_t n = tags.size();
  for (std::size_t k = 0; k < n; ++k) {
    const auto i = static_cast<uint32_t>(last_wins ? n - 1 - k : k);
    const uint64_t hash = hash_bytes(tags[i]);
    if (table_.find(hash, [&](uint32_t j) { return tags[j] == tags[i]; }) != npos) {
      repeated_[i] = 1;
    } else {
      table_.insert(hash, i);
    }
  }
}

uint32_t tag_set::find(std::string_view tag) const {
  return table_.find(hash_bytes(tag), [&](uint32_t j) { return tags_[j] == tag; });
}

}  // namespace wsa
