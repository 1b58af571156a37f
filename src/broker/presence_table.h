// Protocol 1.1 presence in the embedded broker: the members of each exact tag this shard
// owns, as member key ("<node>|<conn>", unique per connection) -> `who` (a JSON object,
// `{"sub":..,"conn":..,"info":..}`). A member is a connection holding a subscription to
// exactly that tag; it joins when it subscribes and leaves when the subscription ends.
// Memory: one entry per (connection, exact tag) subscription, about 100 bytes plus the who
// text (at most max_info_bytes of info); bounded by the connections and their tag limit.
// Shard thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pubsub/string_map.h"

namespace wsa {

class presence_table {
 public:
  /// False when `member` was a member already (its who is kept).
  bool join(std::string_view tag, std::string_view member, std::string_view who);
  /// False when `member` was not a member; else `who` holds what it joined with.
  bool leave(std::string_view tag, std::string_view member, std::string& who);
  /// The exact member count of `tag`; `who_array` gets a JSON array of at most `limit` of
  /// their who objects, and no more than fit in `max_bytes`.
  uint64_t list(std::string_view tag, uint32_t limit, uint64_t max_bytes,
                std::string& who_array) const;
  /// Members over all tags.
  uint64_t size() const { return members_; }
  /// The members of `tag` (member -> who); null when it has none.
  const string_map<std::string>* members_of(std::string_view tag) const {
    const auto t = tags_.find(tag);
    return t == tags_.end() ? nullptr : &t->second;
  }
  /// Calls fn(tag, members) for every tag with members.
  template <class Fn>
  void for_each_tag(Fn&& fn) const {
    for (const auto& [tag, members] : tags_) {
      fn(tag, members);
    }
  }

 private:
  string_map<string_map<std::string>> tags_;
  uint64_t members_ = 0;
};

}  // namespace wsa
