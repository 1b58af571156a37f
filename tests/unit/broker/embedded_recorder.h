// Records what the embedded broker tells its listener (tests of tests/unit/broker).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "broker/broker.h"

namespace wsa {

struct embedded_recorder final : broker_listener {
  struct published {
    uint64_t ticket;
    bool ok;
    uint64_t seq;
  };
  std::vector<published> acks;
  std::vector<std::pair<std::string, uint64_t>> messages;
  tag_position position;
  std::string epoch;
  std::vector<uint64_t> replayed;
  std::vector<std::string> replayed_frames;

  void on_published(uint64_t ticket, bool ok, uint64_t seq, const char*) override {
    acks.push_back({ticket, ok, seq});
  }
  void on_tag_message(std::string_view tag, uint64_t seq, frame*) override {
    messages.emplace_back(tag, seq);
  }
  void on_queried(uint64_t, bool, const tag_position& p,
                  std::span<const history_entry> missed) override {
    position = p;
    epoch.assign(p.epoch);
    replayed.clear();
    replayed_frames.clear();
    for (const history_entry& e : missed) {
      replayed.push_back(e.seq);
      replayed_frames.emplace_back(e.msg->bytes());
    }
  }
};

}  // namespace wsa
