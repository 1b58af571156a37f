// A token's permissions (`perm.pub`, `perm.sub`), compiled once when the token is verified
// and then checked for every `pub` and `sub` of the connection.
//
// - may_publish(tag): some perm.pub pattern matches the exact tag.
// - may_subscribe(pattern): some perm.sub pattern covers every tag the requested pattern could
//   match (wsa::pattern_covers). So a holder of `chat.room1` may subscribe to `chat.room1`
//   but not to `chat.>`; a holder of `chat.>` (or `>`) may subscribe to `chat.>`, `chat.*`,
//   `chat.a.b`. One pattern must cover the request alone: `a.*` and `a.*.>` together match
//   every tag `a.>` does, yet `sub a.>` is refused to their holder (who may subscribe to the
//   two patterns instead). Refusing in that rare case is the safe side of the trade.
//
// Compiling copies every pattern into one buffer; lookups index it by offset, so a
// permissions object may be moved freely. `>` alone is folded into an "everything" flag,
// exact tags are sorted for binary search, wildcard patterns are scanned. The checks never
// allocate. Owned by a connection; used by its shard's thread only (const methods are safe
// from any thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wsa {

class permissions {
 public:
  /// Nothing allowed.
  permissions() = default;

  /// Everything allowed (`>` in both lists): for `--no-auth`.
  static permissions allow_all();

  /// Replaces the lists. Every entry must be a valid pattern (wsa::is_valid_pattern); if one
  /// is not, returns false and leaves *this unchanged. Repeats are harmless.
  bool compile(std::span<const std::string_view> pub, std::span<const std::string_view> sub);

  /// `tag` must be a valid exact tag (the caller has already refused bad tags).
  bool may_publish(std::string_view tag) const noexcept;
  /// `pattern` must be a valid pattern (exact tags included).
  bool may_subscribe(std::string_view pattern) const noexcept;

  std::size_t pub_count() const { return pub_.count; }
  std::size_t sub_count() const { return sub_.count; }

  /// Who holds them, for protocol 1.1 presence: the `who` members the token gives, as JSON
  /// member text (`"sub":"alice","info":{...}`). Kept here because it lives exactly as long
  /// as the token's grants, and costs no extra allocation per connection.
  std::string holder;

 private:
  struct ref {
    uint32_t offset;
    uint32_t length;
  };
  struct list {
    bool everything = false;  // the list holds `>`
    std::size_t count = 0;    // entries given, repeats included
    std::vector<ref> exact;   // sorted by text
    std::vector<ref> wild;    // in the token's order
  };

  std::string_view text(ref r) const { return std::string_view(text_).substr(r.offset, r.length); }
  void fill(list& l, std::span<const std::string_view> patterns);
  bool exact_contains(const list& l, std::string_view tag) const noexcept;

  std::string text_;  // every pattern, back to back
  list pub_;
  list sub_;
};

}  // namespace wsa
