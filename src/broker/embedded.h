// The embedded broker: one node, in memory. Per tag: the last seq and the newest
// `history_size` messages (their encoded frames, shared with the fan-out), for `since`
// recovery. The epoch is drawn at process start, so it changes on every restart, which is
// exactly when the embedded broker's numbering restarts. One instance per shard, for the
// tags that shard owns; shard thread only.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/broker.h"
#include "obs/metrics.h"

namespace wsa {

class embedded_broker final : public broker {
 public:
  embedded_broker(broker_listener& listener, std::string epoch, uint32_t history_size,
                  shard_metrics& metrics);
  ~embedded_broker() override;

  void publish(std::string_view tag, std::string_view data, uint64_t ticket) override;
  void query(std::string_view tag, const since_request& since, uint64_t ticket) override;
  void watch(std::string_view) override {}
  void unwatch(std::string_view) override {}
  bool ready() const override { return true; }

 private:
  // The newest messages of a tag, oldest first from `head`. The ring starts small and
  // doubles up to history_size, so a tag with few messages costs little.
  struct tag_log {
    uint64_t top = 0;
    std::vector<frame*> ring;
    uint32_t head = 0;
    uint32_t count = 0;
    frame* at(uint32_t i) const { return ring[(head + i) % ring.size()]; }
  };
  void remember(tag_log& log, frame* msg);
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  broker_listener& listener_;
  const std::string epoch_;
  const uint32_t history_size_;
  shard_metrics& metrics_;
  std::unordered_map<std::string, tag_log, string_hash, std::equal_to<>> tags_;
  std::vector<history_entry> scratch_;  // reused for query answers
};

}  // namespace wsa
