// Retained messages, one replica per shard. See retained_store.h.
#include "broker/retained_store.h"

namespace wsa {

retained_store::put_result retained_store::put(std::string_view tag, uint64_t seq,
                                               int64_t ts_ms, std::string_view data,
                                               uint8_t qos, bool origin) {
  const auto it = entries_.find(tag);
  if (it != entries_.end()) {
    const message& old = *it->second.m;
    if (ts_ms < old.ts_ms() || (ts_ms == old.ts_ms() && seq <= old.seq())) {
      return put_result::stale;  // an update that arrived after a newer one
    }
    bytes_ -= cost(tag, old.data());
    if (data.empty()) {
      entries_.erase(it);
      return put_result::cleared;
    }
    if (!fits(cost(tag, data), 0, origin ? 1 : 2)) {
      entries_.erase(it);  // the tag's older message is no longer the retained one either
      return put_result::full;
    }
    it->second = entry{message_ref::adopt(message::make(tag, seq, ts_ms, data)), qos};
    bytes_ += cost(tag, data);
    return put_result::stored;
  }
  if (data.empty()) {
    return put_result::cleared;
  }
  if (!fits(cost(tag, data), 1, origin ? 1 : 2)) {
    return put_result::full;
  }
  entries_.emplace(std::string(tag),
                   entry{message_ref::adopt(message::make(tag, seq, ts_ms, data)), qos});
  bytes_ += cost(tag, data);
  return put_result::stored;
}

const retained_store::entry* retained_store::find(std::string_view tag) const {
  const auto it = entries_.find(tag);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace wsa
