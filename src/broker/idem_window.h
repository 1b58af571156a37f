// The idempotency keys of the tags one shard's embedded broker owns (protocol 1.1 `idem`):
// (tag, key) -> the seq and ts of the first publish, for --idempotency-window. A publish whose
// (tag, key) is here is not published again; its answer repeats the first one's (`dup`).
// The check and the numbering happen in the same call of the owner shard's broker, so they
// are one atomic step (docs/architecture.md "Idempotent publish").
//
// Bounded: at most `max_keys` entries; every entry lives the same window, so the oldest
// entry is the first to expire, and a FIFO in insertion order serves both expiry and
// eviction. An entry evicted before its window ends (a full table) is counted: a retry of
// it would be published again. Shard thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "obs/metrics.h"
#include "pubsub/string_map.h"

namespace wsa {

class idem_window {
 public:
  struct first_publish {
    uint64_t seq = 0;
    int64_t ts_ms = 0;
  };

  idem_window(int64_t window_ms, std::size_t max_keys, shard_metrics& metrics)
      : window_ms_(window_ms), max_keys_(max_keys), metrics_(metrics) {}
  ~idem_window() { metrics_.idem_keys.sub(keys_.size()); }
  idem_window(const idem_window&) = delete;
  idem_window& operator=(const idem_window&) = delete;

  /// The first publish of (tag, key) if it is still inside the window (`now_ms`: the
  /// monotonic clock), else null.
  const first_publish* find(std::string_view tag, std::string_view key, int64_t now_ms);
  /// Remembers the first publish of (tag, key), which find() did not know.
  void remember(std::string_view tag, std::string_view key, first_publish first,
                int64_t now_ms);
  /// Drops the entries whose window has passed.
  void expire(int64_t now_ms);

  std::size_t size() const { return keys_.size(); }

 private:
  // The window's end sits in the FIFO, not in the table: checking the oldest entry for
  // expiry (on every find) costs no hash lookup.
  struct expiry {
    int64_t expires_ms = 0;
    const std::string* key = nullptr;  // a key of keys_ (node keys stay put)
  };
  // "<tag> <key>": a tag has no space, so the first space splits them.
  void compose(std::string_view tag, std::string_view key);
  void pop_oldest();

  const int64_t window_ms_;
  const std::size_t max_keys_;
  shard_metrics& metrics_;
  string_map<first_publish> keys_;
  std::deque<expiry> order_;  // one per key of keys_, oldest first
  std::string scratch_;
};

}  // namespace wsa
