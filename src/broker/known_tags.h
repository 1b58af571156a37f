// The tags of a recovering pattern's known positions (broker.h known_position) as a set in
// which a later position of a tag overrides an earlier one (the `since` rule). Used by both
// brokers' pattern recovery and by the router's pending recovery. Views the positions' tag
// bytes, which must outlive it; neither copied nor moved, since the set views its own list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "broker/broker.h"
#include "pubsub/tag_set.h"

namespace wsa {

class known_tags {
 public:
  explicit known_tags(std::span<const known_position> known)
      : names_(tags_of(known)), set_(tag_set::last_wins(names_)) {}
  known_tags(const known_tags&) = delete;
  known_tags& operator=(const known_tags&) = delete;

  /// Whether known[i] is overridden by a later position of the same tag.
  bool repeated(std::size_t i) const { return set_.repeated(i); }
  /// The index in `known` of the position that counts for `tag`, or tag_set::npos.
  uint32_t find(std::string_view tag) const { return set_.find(tag); }
  bool contains(std::string_view tag) const { return set_.contains(tag); }

 private:
  static std::vector<std::string_view> tags_of(std::span<const known_position> known) {
    std::vector<std::string_view> names;
    names.reserve(known.size());
    for (const known_position& k : known) {
      names.push_back(k.tag);
    }
    return names;
  }

  std::vector<std::string_view> names_;
  tag_set set_;
};

}  // namespace wsa
