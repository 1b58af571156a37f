// Topic aliases. See topic_alias.h.
#include "mqtt/topic_alias.h"

#include "mqtt/topic.h"

namespace wsa::mqtt {

inbound_aliases::result inbound_aliases::resolve(std::string_view topic, uint16_t alias,
                                                 std::string_view& tag) {
  if (alias > tags_.size()) {  // alias 0 never comes here: the decoder refuses it
    return result::alias_invalid;
  }
  if (topic.empty()) {
    if (alias == 0 || tags_[alias - 1].empty()) {
      return result::alias_unknown;
    }
    tag = tags_[alias - 1];
    return result::ok;
  }
  if (!topic_to_tag(topic, scratch_)) {
    return result::topic_invalid;
  }
  if (alias == 0) {
    tag = scratch_;
    return result::ok;
  }
  tags_[alias - 1] = scratch_;
  tag = tags_[alias - 1];
  return result::ok;
}

uint16_t outbound_aliases::assign(std::string_view topic, bool& send_topic) {
  send_topic = true;
  if (maximum_ == 0) {
    return 0;
  }
  ++clock_;
  if (const auto it = by_topic_.find(topic); it != by_topic_.end()) {
    entries_[it->second - 1].last_use = clock_;
    send_topic = false;
    return it->second;
  }
  entries_.reserve(maximum_);  // never reallocated: by_topic_ views its strings
  std::size_t index = entries_.size();
  if (entries_.size() < maximum_) {
    entries_.emplace_back();
  } else {
    index = 0;
    for (std::size_t i = 1; i < entries_.size(); ++i) {
      if (entries_[i].last_use < entries_[index].last_use) {
        index = i;
      }
    }
    by_topic_.erase(entries_[index].topic);
  }
  entry& e = entries_[index];
  e.topic.assign(topic);
  e.last_use = clock_;
  const auto alias = static_cast<uint16_t>(index + 1);
  by_topic_.emplace(e.topic, alias);
  return alias;
}

}  // namespace wsa::mqtt
