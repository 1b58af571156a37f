// The tags named by one request (a `sub`, an `unsub`, the keys of a `since`), as a set with
// linear expected-time construction and O(1) lookup. A request may name as many tags as a
// connection may hold (65536 at most): comparing them pairwise, or each against every held
// subscription, would be quadratic work a client could ask for at will. Hashing is seeded
// (hash.h), so colliding names cannot be chosen. The views must outlive the set.
// Single-threaded; built for one request and dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "pubsub/id_table.h"

namespace wsa {

class tag_set {
 public:
  static constexpr uint32_t npos = id_table::npos;

  /// Indexes `tags`; an entry equal to an earlier one is a repeat (the first one counts).
  explicit tag_set(std::span<const std::string_view> tags);
  /// The same with the *last* equal entry counting (as for `since`, where a later value of
  /// the same tag overrides an earlier one).
  static tag_set last_wins(std::span<const std::string_view> tags);

  /// Whether tags[i] repeats an earlier (first_wins) or later (last_wins) entry.
  bool repeated(std::size_t i) const { return repeated_[i] != 0; }
  /// The index of the entry that counts for `tag`, or npos.
  uint32_t find(std::string_view tag) const;
  bool contains(std::string_view tag) const { return find(tag) != npos; }
  /// Distinct tags.
  std::size_t size() const { return table_.size(); }

 private:
  tag_set(std::span<const std::string_view> tags, bool last_wins);

  std::span<const std::string_view> tags_;
  std::vector<uint8_t> repeated_;
  id_table table_;
};

}  // namespace wsa
