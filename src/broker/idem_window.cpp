#include "broker/idem_window.h"

namespace wsa {

void idem_window::compose(std::string_view tag, std::string_view key) {
  scratch_.assign(tag);
  scratch_.push_back(' ');
  scratch_.append(key);
}

const idem_window::first_publish* idem_window::find(std::string_view tag, std::string_view key,
                                                    int64_t now_ms) {
  expire(now_ms);
  compose(tag, key);
  auto it = keys_.find(scratch_);
  return it == keys_.end() ? nullptr : &it->second;
}

void idem_window::remember(std::string_view tag, std::string_view key, first_publish first,
                           int64_t now_ms) {
  if (max_keys_ == 0) {
    return;
  }
  while (keys_.size() >= max_keys_) {
    metrics_.idem_evictions.add();  // its window had not passed: a retry would publish again
    pop_oldest();
  }
  compose(tag, key);
  auto [it, added] = keys_.try_emplace(scratch_, first);
  if (added) {
    order_.push_back({now_ms + window_ms_, &it->first});
    metrics_.idem_keys.add();
  }
}

void idem_window::expire(int64_t now_ms) {
  while (!order_.empty() && order_.front().expires_ms <= now_ms) {
    pop_oldest();
  }
}

void idem_window::pop_oldest() {
  // Found by iterator: erasing with the node's own key as the argument would read it after
  // the node is gone.
  const auto it = keys_.find(*order_.front().key);  // always there: order_ lists keys_
  order_.pop_front();
  keys_.erase(it);
  metrics_.idem_keys.sub();
}

}  // namespace wsa
