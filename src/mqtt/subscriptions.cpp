// Subscriptions of one session. See subscriptions.h.
#include "mqtt/subscriptions.h"

#include <algorithm>

#include "pubsub/tag.h"

namespace wsa::mqtt {

subscription_set::add_result subscription_set::add(std::string_view filter,
                                                   const subscription_options& options,
                                                   std::vector<std::string>& new_patterns) {
  if (filter.starts_with("$share/")) {
    return add_result::shared;
  }
  filter_patterns patterns;
  if (!filter_to_patterns(filter, patterns)) {
    return add_result::invalid;
  }
  subscription_options granted = options;
  granted.qos = std::min(options.qos, max_granted_qos);
  for (subscription& s : subs_) {
    if (s.filter == filter) {
      s.options = granted;  // same filter, same patterns: only the options change
      return add_result::replaced;
    }
  }
  if (subs_.size() >= maximum_) {
    return add_result::full;
  }
  acquire(patterns.first, new_patterns);
  if (!patterns.second.empty()) {
    acquire(patterns.second, new_patterns);
  }
  const bool exact = filter.find_first_of("+#") == std::string_view::npos;
  subs_.push_back({std::string(filter), granted, std::move(patterns), exact});
  return add_result::added;
}

bool subscription_set::remove(std::string_view filter, std::vector<std::string>& dropped) {
  const auto it = std::find_if(subs_.begin(), subs_.end(),
                               [&](const subscription& s) { return s.filter == filter; });
  if (it == subs_.end()) {
    return false;
  }
  release(it->patterns.first, dropped);
  if (!it->patterns.second.empty()) {
    release(it->patterns.second, dropped);
  }
  subs_.erase(it);
  return true;
}

bool subscription_set::plan(std::string_view tag, bool from_this_client, delivery_plan& out) const {
  out.qos = 0;
  out.retain_as_published = false;
  out.subscription_ids.clear();
  bool matched = false;
  for (const subscription& s : subs_) {
    if (from_this_client && s.options.no_local) {
      continue;  // [MQTT-3.8.3-3]
    }
    const bool matches =
        s.exact ? s.patterns.first == tag
                : pattern_matches(s.patterns.first, tag) ||
                      (!s.patterns.second.empty() && pattern_matches(s.patterns.second, tag));
    if (!matches) {
      continue;
    }
    matched = true;
    out.qos = std::max(out.qos, s.options.qos);
    out.retain_as_published = out.retain_as_published || s.options.retain_as_published;
    if (s.options.subscription_id != 0) {
      out.subscription_ids.push_back(s.options.subscription_id);
    }
  }
  return matched;
}

const subscription* subscription_set::find(std::string_view filter) const {
  for (const subscription& s : subs_) {
    if (s.filter == filter) {
      return &s;
    }
  }
  return nullptr;
}

std::vector<std::string> subscription_set::patterns() const {
  std::vector<std::string> out;
  out.reserve(pattern_refs_.size());
  for (const auto& [pattern, _] : pattern_refs_) {
    out.push_back(pattern);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void subscription_set::acquire(const std::string& pattern, std::vector<std::string>& added) {
  for (auto& [p, refs] : pattern_refs_) {
    if (p == pattern) {
      ++refs;
      return;
    }
  }
  pattern_refs_.emplace_back(pattern, 1);
  added.push_back(pattern);
}

void subscription_set::release(const std::string& pattern, std::vector<std::string>& dropped) {
  for (auto it = pattern_refs_.begin(); it != pattern_refs_.end(); ++it) {
    if (it->first == pattern) {
      if (--it->second == 0) {
        pattern_refs_.erase(it);
        dropped.push_back(pattern);
      }
      return;
    }
  }
}

reason suback_reason(subscription_set::add_result r, const subscription_options& granted) {
  switch (r) {
    case subscription_set::add_result::added:
    case subscription_set::add_result::replaced:
      return static_cast<reason>(std::min(granted.qos, max_granted_qos));
    case subscription_set::add_result::invalid:
      return reason::topic_filter_invalid;
    case subscription_set::add_result::shared:
      return reason::shared_subscriptions_not_supported;
    case subscription_set::add_result::full:
      return reason::quota_exceeded;
  }
  return reason::unspecified_error;
}

}  // namespace wsa::mqtt
