#include "broker/pattern_set.h"

namespace wsa {

bool pattern_set::add(std::string_view pattern) {
  if (ids_.find(pattern) != ids_.end()) {
    return false;
  }
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
    patterns_[id].assign(pattern);
  } else {
    id = static_cast<uint32_t>(patterns_.size());
    patterns_.emplace_back(pattern);
  }
  ids_.emplace(std::string(pattern), id);
  index_.add(pattern, id);
  return true;
}

bool pattern_set::remove(std::string_view pattern) {
  auto it = ids_.find(pattern);
  if (it == ids_.end()) {
    return false;
  }
  const uint32_t id = it->second;
  index_.remove(pattern, id);
  ids_.erase(it);
  patterns_[id].clear();
  patterns_[id].shrink_to_fit();
  free_ids_.push_back(id);
  return true;
}

}  // namespace wsa
