// Compiled permission lists (see perm.h).
#include "auth/perm.h"

#include <algorithm>

#include "pubsub/tag.h"

namespace wsa {

permissions permissions::allow_all() {
  permissions p;
  const std::string_view all[] = {">"};
  p.compile(all, all);
  return p;
}

bool permissions::compile(std::span<const std::string_view> pub,
                          std::span<const std::string_view> sub) {
  std::size_t bytes = 0;
  for (const auto* l : {&pub, &sub}) {
    for (std::string_view p : *l) {
      if (!is_valid_pattern(p)) {
        return false;
      }
      bytes += p.size();
    }
  }
  permissions next;
  next.text_.reserve(bytes);
  next.fill(next.pub_, pub);
  next.fill(next.sub_, sub);
  *this = std::move(next);
  return true;
}

void permissions::fill(list& l, std::span<const std::string_view> patterns) {
  l.count = patterns.size();
  for (std::string_view p : patterns) {
    if (p == ">") {
      l.everything = true;
      continue;
    }
    const ref r{static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(p.size())};
    text_.append(p);
    (is_wildcard(p) ? l.wild : l.exact).push_back(r);
  }
  if (l.everything) {  // nothing else can widen it
    l.exact.clear();
    l.wild.clear();
    return;
  }
  std::sort(l.exact.begin(), l.exact.end(),
            [this](ref a, ref b) { return text(a) < text(b); });
}

bool permissions::exact_contains(const list& l, std::string_view tag) const noexcept {
  auto it = std::lower_bound(l.exact.begin(), l.exact.end(), tag,
                             [this](ref a, std::string_view t) { return text(a) < t; });
  return it != l.exact.end() && text(*it) == tag;
}

bool permissions::may_publish(std::string_view tag) const noexcept {
  if (pub_.everything || exact_contains(pub_, tag)) {
    return true;
  }
  for (ref r : pub_.wild) {
    if (pattern_matches(text(r), tag)) {
      return true;
    }
  }
  return false;
}

bool permissions::may_subscribe(std::string_view pattern) const noexcept {
  if (sub_.everything) {
    return true;
  }
  // Only a wildcard pattern can cover a wildcard request; an exact request may also be
  // granted by the same exact tag.
  if (!is_wildcard(pattern) && exact_contains(sub_, pattern)) {
    return true;
  }
  for (ref r : sub_.wild) {
    if (pattern_covers(text(r), pattern)) {
      return true;
    }
  }
  return false;
}

}  // namespace wsa
