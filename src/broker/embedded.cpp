#include "broker/embedded.h"

#include <algorithm>

#include "broker/recovery.h"
#include "pubsub/hash.h"
#include "pubsub/tag.h"
#include "util/check.h"
#include "util/clock.h"

namespace wsa {
namespace {

// What the accounting adds to the bytes it can see: the allocator's header and rounding of
// each allocation (mimalloc's size classes round up by at most 1/8).
constexpr uint64_t allocation_overhead = 16;
constexpr uint64_t tag_overhead = 16;

// What a retained message is charged against the budget: itself, and the one encoding that
// its first subscriber or replay caches on it (charged up front, so that the same figure is
// taken off when it goes, whenever that encoding was made).
uint64_t retained_charge(const message& m) {
  return sizeof(message) + m.tag().size() + m.data().size() + m.meta().size() +
         allocation_overhead +
         sizeof(frame) + m.wire_bytes() + allocation_overhead;
}

}  // namespace

embedded_broker::embedded_broker(broker_events& results, embedded_options options,
                                 shard_metrics& metrics)
    : broker(results),
      options_(std::move(options)),
      metrics_(metrics),
      idem_(options_.idem_window_ms, options_.idem_max_keys, metrics) {
  now_ms_ = monotonic_ms();
}

embedded_broker::~embedded_broker() {
  for (tag_state* t : tags_) {
    delete t;  // its history unrefs the messages
  }
}

// ---- the tag table ----

uint32_t embedded_broker::find(std::string_view tag) const {
  return index_.find(hash_bytes(tag), [&](uint32_t slot) { return tags_[slot]->tag == tag; });
}

uint32_t embedded_broker::create(std::string_view tag) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(tags_.size());
    tags_.push_back(nullptr);
    generations_.push_back(0);
  }
  auto* t = new tag_state;
  t->tag.assign(tag);
  t->life = lives_;
  tags_[slot] = t;
  index_.insert(hash_bytes(tag), slot);
  dynamic_bytes_ += tag_bytes(*t);
  metrics_.tags_owned.add();
  return slot;
}

void embedded_broker::forget(uint32_t slot) {
  tag_state* t = tags_[slot];
  WSA_ASSERT(t->history.empty() && t->watchers == 0);
  if (t->idle) {
    unlink_idle(slot);
  }
  dynamic_bytes_ -= tag_bytes(*t);
  index_.erase(hash_bytes(t->tag), slot);
  if (t->top > 0) {
    ++lives_;  // its numbers were used: whatever comes next under this name is a new life
  }
  delete t;
  tags_[slot] = nullptr;
  ++generations_[slot];
  free_slots_.push_back(slot);
  metrics_.tags_owned.sub();
  metrics_.tags_forgotten.add();
}

void embedded_broker::make_idle(uint32_t slot) {
  tag_state& t = *tags_[slot];
  if (t.idle) {
    unlink_idle(slot);
  }
  t.idle = true;
  t.idle_since_ms = now_ms_;
  t.idle_prev = idle_tail_;
  t.idle_next = none;
  if (idle_tail_ != none) {
    tags_[idle_tail_]->idle_next = slot;
  } else {
    idle_head_ = slot;
  }
  idle_tail_ = slot;
}

void embedded_broker::unlink_idle(uint32_t slot) {
  tag_state& t = *tags_[slot];
  (t.idle_prev != none ? tags_[t.idle_prev]->idle_next : idle_head_) = t.idle_next;
  (t.idle_next != none ? tags_[t.idle_next]->idle_prev : idle_tail_) = t.idle_prev;
  t.idle = false;
  t.idle_prev = t.idle_next = none;
}

std::string_view embedded_broker::epoch_of(uint64_t life) {
  if (life == 0) {
    return options_.epoch;
  }
  static constexpr char hex[] = "0123456789abcdef";
  epoch_scratch_.assign(options_.epoch);
  epoch_scratch_.push_back('-');
  char digits[16];
  int n = 0;
  for (; life != 0; life >>= 4) {
    digits[n++] = hex[life & 15];
  }
  while (n > 0) {
    epoch_scratch_.push_back(digits[--n]);
  }
  return epoch_scratch_;
}

// ---- accounting ----

uint64_t embedded_broker::tag_bytes(const tag_state& t) const {
  const uint64_t heap_tag = t.tag.capacity() > 15 ? t.tag.capacity() + 1 : 0;
  return sizeof(tag_state) + tag_overhead + heap_tag + t.history.capacity() * sizeof(message*);
}

uint64_t embedded_broker::structure_bytes() const {
  return tags_.capacity() * sizeof(tag_state*) + generations_.capacity() * sizeof(uint32_t) +
         free_slots_.capacity() * sizeof(uint32_t) + index_.heap_bytes() +
         order_.capacity() * sizeof(retained_entry);
}

void embedded_broker::update_gauges() {
  metrics_.history_bytes.set(retained_bytes());
  metrics_.history_messages.set(retained_);
}

bool embedded_broker::is_retained(const retained_entry& e) const {
  const tag_state* t = tags_[e.slot];
  return generations_[e.slot] == e.generation && t != nullptr &&
         e.seq + t->history.count() > t->top;
}

// ---- publish and query ----

void embedded_broker::publish(const publish_request& request) {
  if (!request.idem.empty()) {
    const idem_window::first_publish* first = idem_.find(request.tag, request.idem, now_ms_);
    if (first != nullptr) {
      metrics_.idem_duplicates.add();
      results_.published(request.ticket, first->seq, first->ts_ms, true);
      return;
    }
  }
  uint32_t slot = find(request.tag);
  if (slot == none) {
    slot = create(request.tag);
  }
  tag_state& t = *tags_[slot];
  const uint64_t seq = ++t.top;
  // Within a tag ts never decreases, even if the wall clock steps back.
  const int64_t ts = std::max(unix_ms(), t.last_ts_ms);
  t.last_ts_ms = ts;
  // The message is the history entry and what every subscriber is sent.
  message* m = message::make(request.tag, seq, ts, request.data, request.meta);

  if (options_.history_size > 0) {
    dynamic_bytes_ -= tag_bytes(t);
    message* dropped = t.history.push(m, options_.history_size);
    dynamic_bytes_ += tag_bytes(t) + retained_charge(*m);
    if (dropped != nullptr) {
      // Over history_size: its FIFO entry is stale now.
      dynamic_bytes_ -= retained_charge(*dropped);
      dropped->unref();
    } else {
      ++retained_;
    }
    order_.push_back({slot, generations_[slot], seq, now_ms_});
    if (t.idle) {
      unlink_idle(slot);
    }
    compact_order();
  } else if (t.watchers == 0) {
    make_idle(slot);  // nothing retained: only its numbering, kept while it is used
  }
  enforce_budget();  // may forget this very tag (its state, not the message)
  update_gauges();

  if (!request.idem.empty()) {
    idem_.remember(request.tag, request.idem, {seq, ts}, now_ms_);
  }
  results_.published(request.ticket, seq, ts);
  results_.message(message_ref::adopt(m), delivery_scope::all);
}

void embedded_broker::query(std::string_view tag, const since_request& since, uint64_t ticket) {
  const uint32_t slot = find(tag);
  const tag_state* t = slot == none ? nullptr : tags_[slot];
  // An unknown tag reports the epoch its next life would get.
  const std::string_view epoch = epoch_of(t != nullptr ? t->life : lives_);
  const uint64_t top = t != nullptr ? t->top : 0;
  if (!since.present) {
    results_.queried(ticket, top, epoch, false);
    return;
  }
  const replay_range range = plan_replay(t, since, epoch);
  broker_event& answer = results_.queried(ticket, top, epoch, range.gap);
  uint64_t bytes = 0;
  if (range.first != 0 &&
      !copy_replay(*t, range.first, since.max_bytes, bytes, answer.missed)) {
    answer.position.gap = true;  // the rest would pass the subscriber's limit
  }
}

embedded_broker::replay_range embedded_broker::plan_replay(const tag_state* t,
                                                           const since_request& since,
                                                           std::string_view epoch) {
  const uint64_t top = t != nullptr ? t->top : 0;
  const recovery_plan plan = plan_recovery(since, epoch, top);
  // What is retained may not reach back to since: trimmed, evicted or expired.
  const uint32_t count = t != nullptr ? t->history.count() : 0;
  const uint64_t oldest = count > 0 ? top - count + 1 : 0;
  const uint64_t first = count > 0 && top > plan.after ? std::max(oldest, plan.after + 1) : 0;
  return {first, recovery_gap(plan, top, first)};
}

bool embedded_broker::copy_replay(const tag_state& t, uint64_t first, uint64_t max_bytes,
                                  uint64_t& bytes, std::vector<message_ref>& out) {
  const uint64_t oldest = t.top - t.history.count() + 1;
  for (uint64_t seq = first; seq <= t.top; ++seq) {
    message* m = t.history.at(static_cast<uint32_t>(seq - oldest));
    if (bytes + m->wire_bytes() > max_bytes) {
      metrics_.replays_truncated.add();
      return false;
    }
    bytes += m->wire_bytes();
    out.push_back(message_ref::share(m));
  }
  return true;
}

// ---- subscribers ----

// ---- presence (protocol 1.1) ----

void embedded_broker::presence_join(std::string_view tag, std::string_view member,
                                    std::string_view who) {
  if (presence_.join(tag, member, who)) {
    metrics_.presence_members.add();
    results_.presence(tag, true, member, who);
  }
}

void embedded_broker::presence_leave(std::string_view tag, std::string_view member) {
  if (presence_.leave(tag, member, presence_scratch_)) {
    metrics_.presence_members.sub();
    results_.presence(tag, false, member, presence_scratch_);
  }
}

void embedded_broker::presence_query(std::string_view tag, uint32_t limit, uint64_t max_bytes,
                                     uint64_t ticket) {
  const uint64_t count = presence_.list(tag, limit, max_bytes, presence_scratch_);
  results_.presence_listed(ticket, count, presence_scratch_);
}

void embedded_broker::watch(std::string_view tag) {
  if (is_wildcard(tag)) {
    return;  // patterns are reached through the owners of the exact tags
  }
  uint32_t slot = find(tag);
  if (slot == none) {
    // Kept while watched, so that the epoch a subscriber is told stays the tag's.
    slot = create(tag);
  }
  tag_state& t = *tags_[slot];
  ++t.watchers;
  if (t.idle) {
    unlink_idle(slot);
  }
  enforce_budget();
  update_gauges();
}

void embedded_broker::unwatch(std::string_view tag) {
  const uint32_t slot = is_wildcard(tag) ? none : find(tag);
  if (slot == none) {
    return;
  }
  tag_state& t = *tags_[slot];
  if (t.watchers == 0 || --t.watchers > 0 || !t.history.empty()) {
    return;
  }
  if (t.top == 0) {
    forget(slot);  // a subscription to a tag that never had a message leaves nothing
  } else {
    make_idle(slot);
  }
  update_gauges();
}

// ---- bounds ----

bool embedded_broker::drop_oldest(bool expired) {
  while (order_head_ < order_.size()) {
    const retained_entry e = order_[order_head_++];
    if (!is_retained(e)) {
      continue;  // already gone: trimmed by history_size, or its tag's life ended
    }
    tag_state& t = *tags_[e.slot];
    dynamic_bytes_ -= tag_bytes(t);
    message* m = t.history.pop_oldest();
    dynamic_bytes_ += tag_bytes(t);
    dynamic_bytes_ -= retained_charge(*m);
    m->unref();
    --retained_;
    (expired ? metrics_.history_expired : metrics_.history_evictions).add();
    if (t.history.empty() && t.watchers == 0) {
      if (expired) {
        forget(e.slot);  // its last message is older than the age limit: idle that long
      } else {
        make_idle(e.slot);
      }
    }
    return true;
  }
  return false;
}

void embedded_broker::enforce_budget() {
  bool dropped = false;
  while (retained_bytes() > options_.history_max_bytes) {
    if (idle_head_ != none) {
      forget(idle_head_);  // numbering alone is the cheapest thing to lose
    } else if (drop_oldest(false)) {
      dropped = true;
    } else {
      break;  // only watched tags' entries are left
    }
  }
  if (dropped) {
    compact_order();
  }
}

void embedded_broker::compact_order() {
  const std::size_t queued = order_.size() - order_head_;
  if (queued == 0) {
    order_.clear();
    order_head_ = 0;
    return;
  }
  // Stale entries (trimmed by history_size) may pile up behind an old retained message;
  // consumed ones sit before order_head_. Rewrite when either is most of the vector.
  const bool mostly_stale = queued > 2 * retained_ + 1024;
  const bool mostly_consumed = order_head_ >= 4096 && order_head_ >= queued;
  if (!mostly_stale && !mostly_consumed) {
    return;
  }
  std::size_t out = 0;
  for (std::size_t i = order_head_; i < order_.size(); ++i) {
    if (is_retained(order_[i])) {
      order_[out++] = order_[i];
    }
  }
  order_.resize(out);
  order_head_ = 0;
  if (order_.capacity() > 4 * out + 4096) {
    order_.shrink_to_fit();
  }
}

void embedded_broker::poll() { advance(monotonic_ms()); }

void embedded_broker::advance(int64_t now_ms) {
  now_ms_ = now_ms;
  idem_.expire(now_ms);
  const int64_t max_age = options_.history_max_age_ms;
  if (max_age <= 0) {
    return;
  }
  const int64_t cutoff = now_ms - max_age;
  bool dropped = false;
  while (order_head_ < order_.size() && order_[order_head_].at_ms <= cutoff) {
    if (is_retained(order_[order_head_])) {
      drop_oldest(/*expired=*/true);
      dropped = true;
    } else {
      ++order_head_;
    }
  }
  while (idle_head_ != none && tags_[idle_head_]->idle_since_ms <= cutoff) {
    forget(idle_head_);
    dropped = true;
  }
  if (dropped) {
    compact_order();
    update_gauges();
  }
}

}  // namespace wsa
