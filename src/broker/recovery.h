// The recovery rules of `since` (docs/protocol.md "Recovery"), written once for every broker:
// - an epoch that differs from the tag's, or a seq above the tag's top, means the client's
//   numbers belong to another life of the tag: a gap, and everything retained is replayed;
// - otherwise the messages after `since` are replayed, and a gap is reported when what is
//   retained does not reach back to since + 1.
// The Redis query script applies the first rule inside Redis, where the epoch and the top
// are (broker/redis_scripts.cpp), and reports it as `restart`. Pure functions: any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "broker/broker.h"

namespace wsa {

struct recovery_plan {
  uint64_t after = 0;    ///< replay the retained messages with seq > after
  bool restart = false;  ///< the client's numbers belong to another life of the tag
};

/// The first rule: what to replay, from the client's `since` and where the tag stands.
inline recovery_plan plan_recovery(const since_request& since, std::string_view epoch,
                                   uint64_t top) {
  if ((!since.epoch.empty() && since.epoch != epoch) || since.seq > top) {
    return {0, true};
  }
  return {since.seq, false};
}

/// The second rule: a gap unless the retained messages reach back to after + 1.
/// `first_replayed` is the seq of the first retained message after `plan.after` (0: none).
inline bool recovery_gap(const recovery_plan& plan, uint64_t top, uint64_t first_replayed) {
  if (plan.restart) {
    return true;
  }
  return first_replayed == 0 ? top > plan.after : first_replayed > plan.after + 1;
}

}  // namespace wsa
