// Retained messages, one replica per shard. See retained_store.h.
#include "broker/retained_store.h"

#include <string>
#include <utility>

namespace wsa {

retained_store::put_result retained_store::put(std::string_view tag, uint64_t seq,
                                               int64_t ts_ms, std::string_view data,
                                               uint8_t qos, bool origin,
                                               std::string_view meta, uint32_t expiry_s) {
  node* n = find_node(tag);
  const bool had = n != nullptr && n->value.has_value();
  if (had) {
    const message& old = *n->value->m;
    if (ts_ms < old.ts_ms() || (ts_ms == old.ts_ms() && seq <= old.seq())) {
      return put_result::stale;  // an update that arrived after a newer one
    }
    bytes_ -= message_cost(old);
  }
  // An empty update, or a full replica: the tag's older message (if any) is no longer the
  // retained one either.
  const bool full =
      !data.empty() &&
      !fits(message_cost(tag, data, meta) + (n == nullptr ? missing_nodes_cost(tag) : 0),
            had ? 0 : 1, origin ? 1 : 2);
  if (data.empty() || full) {
    if (had) {
      n->value.reset();
      --size_;
      prune(root_, tag);
    }
    return full ? put_result::full : put_result::cleared;
  }
  if (n == nullptr) {
    n = &make_node(tag);
  }
  n->value = entry{message_ref::adopt(message::make(tag, seq, ts_ms, data, meta)), qos, expiry_s};
  size_ += had ? 0 : 1;
  bytes_ += message_cost(*n->value->m);
  return put_result::stored;
}

uint64_t retained_store::node_cost(std::string_view segment) {
  // The node; the bucket array its table allocates with its first child (libstdc++ starts
  // at 13 buckets and keeps them: charged to every node, an upper bound for leaves); the
  // parent's table entry (key string, pointer, next and cached hash); a segment past the
  // string's inline buffer has its own allocation.
  using entry_type = string_map<std::unique_ptr<node>>::value_type;
  constexpr uint64_t first_buckets = 13 * sizeof(void*) + allocation_overhead;
  uint64_t cost = sizeof(node) + allocation_overhead + first_buckets + sizeof(entry_type) +
                  2 * sizeof(void*) + allocation_overhead;
  if (segment.size() >= sizeof(std::string) / 2) {
    cost += segment.size() + 1 + allocation_overhead;
  }
  return cost;
}

uint64_t retained_store::missing_nodes_cost(std::string_view tag) const {
  const node* n = &root_;
  std::string_view segment;
  bool more = true;
  uint64_t cost = 0;
  while (more) {
    more = split(tag, segment);
    if (n != nullptr) {
      const auto it = n->children.find(segment);
      n = it == n->children.end() ? nullptr : it->second.get();
    }
    if (n == nullptr) {
      cost += node_cost(segment);
    }
  }
  return cost;
}

const retained_store::entry* retained_store::find(std::string_view tag) const {
  const node* n = find_node(tag);
  return n == nullptr || !n->value ? nullptr : &*n->value;
}

retained_store::node* retained_store::find_node(std::string_view tag) const {
  const node* n = &root_;
  std::string_view segment;
  bool more = true;
  while (more) {
    more = split(tag, segment);
    const auto it = n->children.find(segment);
    if (it == n->children.end()) {
      return nullptr;
    }
    n = it->second.get();
  }
  return const_cast<node*>(n);  // the tree's nodes are this store's own
}

retained_store::node& retained_store::make_node(std::string_view tag) {
  node* n = &root_;
  std::string_view segment;
  bool more = true;
  while (more) {
    more = split(tag, segment);
    auto it = n->children.find(segment);
    if (it == n->children.end()) {
      it = n->children.emplace(std::string(segment), std::make_unique<node>()).first;
      bytes_ += node_cost(segment);
    }
    n = it->second.get();
  }
  return *n;
}

bool retained_store::prune(node& n, std::string_view rest) {
  std::string_view segment;
  const bool more = split(rest, segment);
  const auto it = n.children.find(segment);
  if (it != n.children.end()) {
    node& child = *it->second;
    const bool empty = more ? prune(child, rest) : !child.value && child.children.empty();
    if (empty) {
      bytes_ -= node_cost(segment);
      n.children.erase(it);
    }
  }
  return !n.value && n.children.empty();
}

}  // namespace wsa
