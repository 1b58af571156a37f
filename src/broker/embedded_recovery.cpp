// The embedded broker's side of recovery on patterns (protocol 1.1; docs/architecture.md
// "Recovery on patterns"): each shard answers for the tags it owns that the pattern matches.
// - A tag the client named: the rules of an exact tag's `since` (broker/recovery.h).
// - Another tag: its retained messages published at or after `ts` (every retained one
//   without ts). A gap where a message of this life that may have been wanted is no longer
//   retained: the oldest retained one is itself wanted and is not seq 1 (or nothing is
//   retained, and the last message was at or after ts).
// Only tags with something to replay or a gap are reported, at most max_tags (past it the
// answer's own gap). Each tag considered (named, or published at or after ts) gets an even
// share of the byte budget, as with Redis; the answer's `top` carries their count, so that
// the router cuts every tag to its share of all the shards' count. The scan is linear in
// the shard's tags: one per recovering `sub`, which --sub-rate and
// --max-pending-recoveries bound.
#include <algorithm>
#include <vector>

#include "broker/embedded.h"
#include "broker/known_tags.h"
#include "pubsub/tag.h"

namespace wsa {

bool embedded_broker::add_recovered(broker_event& answer, const pattern_since_request& request,
                                    const tag_state* t, std::string_view tag,
                                    std::string_view epoch, uint64_t first, bool gap,
                                    uint64_t budget) {
  if (answer.tags.size() >= request.max_tags) {
    answer.position.gap = true;
    return false;
  }
  named_position& n = answer.tags.emplace_back();
  n.tag.assign(tag);
  n.position.top = t != nullptr ? t->top : 0;
  n.position.epoch.assign(epoch);
  n.position.gap = gap;
  uint64_t bytes = 0;
  if (first != 0 && !copy_replay(*t, first, budget, bytes, answer.missed)) {
    n.position.gap = true;  // the rest would pass the subscriber's limit
  }
  return true;
}

void embedded_broker::query_pattern(const pattern_since_request& request, uint64_t ticket) {
  const known_tags known(request.known);
  const auto considered_other = [&](const tag_state* t) {
    return t != nullptr && t->top != 0 && !known.contains(t->tag) &&
           pattern_matches(request.pattern, t->tag) &&
           (!request.has_ts || static_cast<uint64_t>(t->last_ts_ms) >= request.ts_ms);
  };
  uint64_t considered = 0;
  for (std::size_t i = 0; i < request.known.size(); ++i) {
    considered += !known.repeated(i) && pattern_matches(request.pattern, request.known[i].tag)
                      ? 1
                      : 0;
  }
  std::vector<const tag_state*> others;  // matching tags not named, published at or after ts
  for (const tag_state* t : tags_) {
    if (considered_other(t)) {
      others.push_back(t);
    }
  }
  considered += others.size();
  const uint64_t budget = request.max_bytes / std::max<uint64_t>(considered, 1);
  broker_event& answer = results_.queried(ticket, considered, {}, false);
  for (std::size_t i = 0; i < request.known.size(); ++i) {
    const known_position& k = request.known[i];
    if (known.repeated(i) || !pattern_matches(request.pattern, k.tag)) {
      continue;
    }
    const uint32_t slot = find(k.tag);
    const tag_state* t = slot == none ? nullptr : tags_[slot];
    const std::string epoch(epoch_of(t != nullptr ? t->life : lives_));
    const replay_range range = plan_replay(t, since_request{true, k.seq, k.epoch}, epoch);
    if ((range.first != 0 || range.gap) &&
        !add_recovered(answer, request, t, k.tag, epoch, range.first, range.gap, budget)) {
      return;
    }
  }
  for (const tag_state* t : others) {
    const uint32_t count = t->history.count();
    uint32_t wanted = 0;  // the first retained message published at or after ts
    while (request.has_ts && wanted < count &&
           static_cast<uint64_t>(t->history.at(wanted)->ts_ms()) < request.ts_ms) {
      ++wanted;
    }
    bool gap = false;
    uint64_t first = 0;
    if (count == 0) {
      gap = true;  // published at or after ts (considered_other), none of it retained
    } else if (wanted < count) {
      first = t->top - count + 1 + wanted;
      gap = wanted == 0 && first > 1;
    }
    if ((first != 0 || gap) &&
        !add_recovered(answer, request, t, t->tag, epoch_of(t->life), first, gap, budget)) {
      return;
    }
  }
}

}  // namespace wsa
