// Exact-tag table, pattern trie and list maintenance of the subscription index. See
// subscription_index.h.
#include "pubsub/subscription_index.h"

#include "pubsub/hash.h"
#include "pubsub/tag.h"
#include "util/check.h"

namespace wsa {
namespace {

constexpr uint32_t npos = id_table::npos;
constexpr uint32_t root = 0;

// Lists longer than this keep their positions in the position table; a list stays indexed
// until it falls to unindex_at, so a list hovering around the threshold does not rebuild.
// Below it a duplicate check or a removal scans at most 16 ids: one or two cache lines.
constexpr uint32_t index_above = 16;
constexpr uint32_t unindex_at = 8;

// Entries and nodes are numbered below 2^30 so that a list key fits in 32 bits.
constexpr uint32_t max_entries = uint32_t{1} << 30;

// Position-table keys: one per list.
uint32_t exact_key(uint32_t entry) { return entry << 2; }
uint32_t here_key(uint32_t node) { return node << 2 | 1; }
uint32_t gt_key(uint32_t node) { return node << 2 | 2; }

bool is_star(std::string_view segment) { return segment.size() == 1 && segment[0] == '*'; }
bool is_gt(std::string_view segment) { return segment.size() == 1 && segment[0] == '>'; }

uint64_t child_hash(uint32_t parent, std::string_view segment) {
  return hash_mix(hash_bytes(segment) ^ (uint64_t{parent} * 0x9e3779b97f4a7c15ULL));
}

// Splits the first segment off `rest`. Returns false when `rest` held the last segment.
bool split_segment(std::string_view& rest, std::string_view& segment) {
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos) {
    segment = rest;
    return false;
  }
  segment = rest.substr(0, dot);
  rest.remove_prefix(dot + 1);
  return true;
}

}  // namespace

subscription_index::subscription_index() { nodes_.emplace_back(); }

subscription_index::~subscription_index() = default;

uint32_t subscription_index::find_exact(std::string_view tag, uint64_t hash) const {
  return exact_table_.find(hash, [&](uint32_t entry) { return exact_[entry].tag == tag; });
}

uint32_t subscription_index::find_child(uint32_t parent, std::string_view segment,
                                        uint64_t hash) const {
  return children_.find(hash, [&](uint32_t child) {
    return nodes_[child].parent == parent && nodes_[child].segment == segment;
  });
}

// ---- lists -------------------------------------------------------------------------------

uint32_t subscription_index::list_find(const subscriber_list& list, uint32_t key,
                                       uint32_t subscriber) const {
  return list.indexed() ? positions_.find(key, subscriber) : list.find(subscriber);
}

bool subscription_index::list_add(subscriber_list& list, uint32_t key, uint32_t subscriber) {
  if (list_find(list, key, subscriber) != npos) {
    return false;
  }
  const uint32_t position = list.size();
  list.push_back(subscriber);
  if (list.indexed()) {
    positions_.insert(key, subscriber, position);
  } else if (list.size() > index_above) {
    for (uint32_t i = 0; i < list.size(); ++i) {
      positions_.insert(key, list[i], i);
    }
    list.set_indexed(true);
  }
  return true;
}

bool subscription_index::list_remove(subscriber_list& list, uint32_t key, uint32_t subscriber) {
  const uint32_t position = list_find(list, key, subscriber);
  if (position == npos) {
    return false;
  }
  const uint32_t moved = list.swap_remove(position);
  if (list.indexed()) {
    positions_.erase(key, subscriber);
    if (list.size() <= unindex_at) {
      for (uint32_t i = 0; i < list.size(); ++i) {
        positions_.erase(key, list[i]);
      }
      list.set_indexed(false);
    } else if (moved != subscriber_list::npos) {
      positions_.update(key, moved, position);
    }
  }
  return true;
}

// ---- trie --------------------------------------------------------------------------------

uint32_t subscription_index::add_child(uint32_t parent, std::string_view segment) {
  uint32_t child;
  if (!free_nodes_.empty()) {
    child = free_nodes_.back();
    free_nodes_.pop_back();
  } else {
    WSA_CHECK(nodes_.size() < max_entries, "pattern trie too large");
    child = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();  // may move nodes_: no references held across this
  }
  trie_node& node = nodes_[child];
  node.parent = parent;
  if (is_star(segment)) {
    nodes_[parent].star = child;
  } else {
    node.segment.assign(segment);
    children_.insert(child_hash(parent, segment), child);
    ++nodes_[parent].literal_children;
  }
  return child;
}

// Frees `node` and then its ancestors for as long as they hold nothing.
void subscription_index::prune(uint32_t node) {
  while (node != root) {
    trie_node& n = nodes_[node];
    if (!n.here.empty() || !n.gt.empty() || n.star != npos || n.literal_children != 0) {
      return;
    }
    const uint32_t parent = n.parent;
    if (nodes_[parent].star == node) {
      nodes_[parent].star = npos;
    } else {
      children_.erase(child_hash(parent, n.segment), node);
      --nodes_[parent].literal_children;
    }
    std::string().swap(n.segment);  // give the bytes back, not just the length
    n.parent = 0;
    free_nodes_.push_back(node);
    node = parent;
  }
}

subscription_index::list_ref subscription_index::find_pattern_list(std::string_view pattern) const {
  uint32_t node = root;
  std::string_view rest = pattern;
  std::string_view segment;
  bool more = true;
  while (more) {
    more = split_segment(rest, segment);
    if (is_gt(segment)) {
      return {node, true};
    }
    const trie_node& n = nodes_[node];
    node = is_star(segment) ? n.star : find_child(node, segment, child_hash(node, segment));
    if (node == npos) {
      return {npos, false};
    }
  }
  return {node, false};
}

bool subscription_index::walk(uint32_t node, std::string_view rest, void* context,
                              list_visitor visit) const {
  const trie_node& n = nodes_[node];
  // `rest` is not empty here: a tag has at least one segment left, which `>` takes.
  if (!n.gt.empty() && !visit(context, n.gt.span())) {
    return false;
  }
  if (n.literal_children == 0 && n.star == npos) {
    return true;
  }
  std::string_view segment;
  const bool more = split_segment(rest, segment);
  const auto descend = [&](uint32_t child) {
    if (more) {
      return walk(child, rest, context, visit);
    }
    const subscriber_list& here = nodes_[child].here;
    return here.empty() || visit(context, here.span());
  };
  if (n.literal_children != 0) {
    const uint32_t child = find_child(node, segment, child_hash(node, segment));
    if (child != npos && !descend(child)) {
      return false;
    }
  }
  return n.star == npos || descend(n.star);
}

bool subscription_index::visit_pattern_lists(std::string_view tag, void* context,
                                             list_visitor visit) const {
  return walk(root, tag, context, visit);
}

// ---- public ------------------------------------------------------------------------------

bool subscription_index::add(std::string_view pattern, uint32_t subscriber) {
  WSA_ASSERT(is_valid_pattern(pattern));
  if (!is_wildcard(pattern)) {
    const uint64_t hash = hash_bytes(pattern);
    uint32_t entry = find_exact(pattern, hash);
    if (entry == npos) {
      if (!free_exact_.empty()) {
        entry = free_exact_.back();
        free_exact_.pop_back();
      } else {
        WSA_CHECK(exact_.size() < max_entries, "too many exact tags");
        entry = static_cast<uint32_t>(exact_.size());
        exact_.emplace_back();
      }
      exact_[entry].tag.assign(pattern);
      exact_table_.insert(hash, entry);
    }
    if (!list_add(exact_[entry].subscribers, exact_key(entry), subscriber)) {
      return false;
    }
    ++exact_subscriptions_;
    return true;
  }

  uint32_t node = root;
  std::string_view rest = pattern;
  std::string_view segment;
  bool more = true;
  bool gt = false;
  while (more) {
    more = split_segment(rest, segment);
    if (is_gt(segment)) {
      gt = true;
      break;
    }
    const uint32_t next =
        is_star(segment) ? nodes_[node].star : find_child(node, segment, child_hash(node, segment));
    node = next != npos ? next : add_child(node, segment);
  }
  subscriber_list& list = gt ? nodes_[node].gt : nodes_[node].here;
  if (!list_add(list, gt ? gt_key(node) : here_key(node), subscriber)) {
    return false;
  }
  ++pattern_subscriptions_;
  return true;
}

bool subscription_index::remove(std::string_view pattern, uint32_t subscriber) {
  if (!is_wildcard(pattern)) {
    const uint64_t hash = hash_bytes(pattern);
    const uint32_t entry = find_exact(pattern, hash);
    if (entry == npos || !list_remove(exact_[entry].subscribers, exact_key(entry), subscriber)) {
      return false;
    }
    --exact_subscriptions_;
    if (exact_[entry].subscribers.empty()) {
      exact_table_.erase(hash, entry);
      std::string().swap(exact_[entry].tag);
      free_exact_.push_back(entry);
    }
    return true;
  }

  const list_ref ref = find_pattern_list(pattern);
  if (ref.node == npos) {
    return false;
  }
  subscriber_list& list = ref.gt ? nodes_[ref.node].gt : nodes_[ref.node].here;
  if (!list_remove(list, ref.gt ? gt_key(ref.node) : here_key(ref.node), subscriber)) {
    return false;
  }
  --pattern_subscriptions_;
  prune(ref.node);
  return true;
}

bool subscription_index::contains(std::string_view pattern, uint32_t subscriber) const {
  if (!is_wildcard(pattern)) {
    const uint32_t entry = find_exact(pattern, hash_bytes(pattern));
    return entry != npos &&
           list_find(exact_[entry].subscribers, exact_key(entry), subscriber) != npos;
  }
  const list_ref ref = find_pattern_list(pattern);
  if (ref.node == npos) {
    return false;
  }
  const trie_node& n = nodes_[ref.node];
  return list_find(ref.gt ? n.gt : n.here, ref.gt ? gt_key(ref.node) : here_key(ref.node),
                   subscriber) != npos;
}

std::span<const uint32_t> subscription_index::exact_subscribers(std::string_view tag) const {
  if (exact_subscriptions_ == 0) {
    return {};
  }
  const uint32_t entry = find_exact(tag, hash_bytes(tag));
  return entry == npos ? std::span<const uint32_t>{} : exact_[entry].subscribers.span();
}

std::span<const uint32_t> subscription_index::subscribers_of(std::string_view pattern) const {
  if (!is_wildcard(pattern)) {
    return exact_subscribers(pattern);
  }
  const list_ref ref = find_pattern_list(pattern);
  if (ref.node == npos) {
    return {};
  }
  const trie_node& n = nodes_[ref.node];
  return (ref.gt ? n.gt : n.here).span();
}

bool subscription_index::has_subscribers(std::string_view tag) const {
  if (!exact_subscribers(tag).empty()) {
    return true;
  }
  return pattern_subscriptions_ != 0 &&
         !visit_pattern_lists(tag, nullptr, [](void*, std::span<const uint32_t>) {
           return false;  // the first non-empty list answers the question
         });
}

std::size_t subscription_index::memory_bytes() const {
  // Not constexpr: clang 14 cannot evaluate libstdc++ 12's string constructor at compile time.
  static const std::size_t sso_capacity = std::string().capacity();
  const auto string_heap = [](const std::string& s) {
    return s.capacity() > sso_capacity ? s.capacity() + 1 : 0;
  };
  std::size_t bytes = exact_.capacity() * sizeof(exact_entry) +
                      nodes_.capacity() * sizeof(trie_node) +
                      (free_exact_.capacity() + free_nodes_.capacity()) * sizeof(uint32_t) +
                      exact_table_.heap_bytes() + children_.heap_bytes() + positions_.heap_bytes();
  for (const exact_entry& e : exact_) {
    bytes += string_heap(e.tag) + e.subscribers.heap_bytes();
  }
  for (const trie_node& n : nodes_) {
    bytes += string_heap(n.segment) + n.here.heap_bytes() + n.gt.heap_bytes();
  }
  return bytes;
}

}  // namespace wsa
