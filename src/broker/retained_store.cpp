// Retained messages, one replica per shard. See retained_store.h.
#include "broker/retained_store.h"

namespace wsa {

retained_store::put_result retained_store::put(std::string_view tag, uint64_t seq,
                                               int64_t ts_ms, std::string_view data,
                                               uint8_t qos, bool origin) {
  const auto it = entries_.find(tag);
  const bool had = it != entries_.end();
  if (had) {
    const message& old = *it->second.m;
    if (ts_ms < old.ts_ms() || (ts_ms == old.ts_ms() && seq <= old.seq())) {
      return put_result::stale;  // an update that arrived after a newer one
    }
    bytes_ -= cost(tag, old.data());
  }
  // An empty update, or a full replica: the tag's older message (if any) is no longer the
  // retained one either.
  const bool full = !data.empty() && !fits(cost(tag, data), had ? 0 : 1, origin ? 1 : 2);
  if (data.empty() || full) {
    if (had) {
      entries_.erase(it);
    }
    return full ? put_result::full : put_result::cleared;
  }
  entry e{message_ref::adopt(message::make(tag, seq, ts_ms, data)), qos};
  if (had) {
    it->second = std::move(e);
  } else {
    entries_.emplace(std::string(tag), std::move(e));
  }
  bytes_ += cost(tag, data);
  return put_result::stored;
}

const retained_store::entry* retained_store::find(std::string_view tag) const {
  const auto it = entries_.find(tag);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace wsa
