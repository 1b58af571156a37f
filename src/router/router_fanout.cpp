// The router's subscriber side (router.h): what reaches this shard's connections. Live
// messages are fanned out to the local subscribers (conflated ones through `latest_`), gap
// notices to those not waiting for an answer, and subscribe requests are completed once
// every owner answered.
#include "router/router.h"

#include "util/clock.h"

namespace wsa {

void router::fan_out(message& m, delivery_scope scope) {
  targets_.clear();
  latest_targets_.clear();
  const std::string_view tag = m.tag();
  // A subscription still waiting for its answer holds the message instead.
  local_.collect(tag, scope, targets_, latest_targets_,
                 [&](uint32_t slot) { return pending_.hold(slot, tag, m); });
  if (!targets_.empty()) {
    client_.deliver(m, targets_);
  }
  if (!latest_targets_.empty()) [[unlikely]] {
    const int64_t now = monotonic_ms();
    for (const subscriptions::latest_target& t : latest_targets_) {
      latest_.offer(t.who, m, t.interval_ms, now);
    }
  }
}

void router::notify_gap(std::string_view key) {
  std::vector<uint32_t> told;
  for (const uint32_t slot : local_.holders_of(key)) {
    // A subscription whose answer is still to come learns where the key stands from it.
    if (!pending_.holding(slot, key)) {
      told.push_back(slot);
    }
  }
  if (!told.empty()) {
    client_.stream_gap(key, told);
  }
}

void router::on_answer(subscriber_id to, uint32_t request, std::string_view key, bool ok,
                       uint64_t top, std::string_view epoch, bool gap) {
  std::unique_ptr<pending_request> done = pending_.on_answer(to, request, key, ok, top, epoch, gap);
  if (done != nullptr) {
    local_.set_waiting(to.slot, pending_.any(to.slot));
    complete(std::move(done));
  }
}

void router::complete(std::unique_ptr<pending_request> request) {
  plan_delivery(pending_, *request, client_.output_room(request->who), delivery_);
  for (const pending_entry& e : request->entries) {
    if (e.recovery && e.ok && !e.cancelled) {
      metrics_.pattern_recoveries.add();
      metrics_.pattern_recovery_tags.add(e.tags.size());
      metrics_.pattern_recoveries_over_bound.add(e.gap ? 1 : 0);
      metrics_.pattern_recovery_holds_cut.add(e.hold_cut ? 1 : 0);
    }
  }
  metrics_.replays_truncated.add(delivery_.truncated);
  for (const std::string_view key : delivery_.failed_new_keys) {
    remove(request->who.slot, key);
  }
  sub_outcome outcome;
  outcome.request_id = request->request_id;
  outcome.ok = !delivery_.failed;
  if (delivery_.failed) {
    outcome.error = "unavailable";
    outcome.reason = "the broker did not answer for every tag";
  }
  outcome.positions = delivery_.positions;
  outcome.messages = delivery_.messages;
  client_.subscribed(request->who, outcome);
}

}  // namespace wsa
