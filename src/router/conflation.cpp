#include "router/conflation.h"

#include "pubsub/tag.h"

namespace wsa {

conflation::~conflation() {
  for (const std::unique_ptr<per_slot>& s : slots_) {
    if (s != nullptr) {
      metrics_.conflation_tags.sub(s->tags.size());
    }
  }
}

bool conflation::send(const per_slot& s, message& m) {
  // Twice the frame's size must fit: a conflated message never fills the queue up to the
  // limit (4008) by itself; otherwise it waits here for the client to read.
  if (client_.output_room(s.who) < 2 * m.wire_bytes()) {
    return false;
  }
  const uint32_t slot = s.who.slot;
  client_.deliver(m, std::span<const uint32_t>(&slot, 1));
  return true;
}

void conflation::offer(subscriber_id who, message& m, uint32_t interval_ms, int64_t now_ms) {
  if (who.slot >= slots_.size()) {
    slots_.resize(who.slot + 1);
  }
  std::unique_ptr<per_slot>& s = slots_[who.slot];
  if (s == nullptr || s->who.generation != who.generation) {
    if (s != nullptr) {
      metrics_.conflation_tags.sub(s->tags.size());
    }
    s = std::make_unique<per_slot>();
    s->who = who;
  }
  auto it = s->tags.find(m.tag());
  if (it == s->tags.end()) {
    if (s->tags.size() >= max_tags_per_connection) {
      tick(now_ms);  // forgets the idle ones
    }
    if (s->tags.size() >= max_tags_per_connection) {
      if (!send(*s, m)) {
        metrics_.conflated.add();
      }
      return;
    }
    const bool sent = send(*s, m);
    it = s->tags.try_emplace(std::string(m.tag())).first;
    it->second.interval_ms = interval_ms;
    metrics_.conflation_tags.add();
    if (sent) {
      it->second.last_sent_ms = now_ms;
      return;
    }
    it->second.last_sent_ms = now_ms - interval_ms;  // due as soon as there is room
  }
  entry& e = it->second;
  e.interval_ms = interval_ms;
  if (e.pending) {
    metrics_.conflated.add();  // an older message that will never be sent
    e.pending = message_ref();
  }
  if (now_ms - e.last_sent_ms >= interval_ms && send(*s, m)) {
    e.last_sent_ms = now_ms;
    return;
  }
  e.pending = message_ref::share(&m);
  if (!s->due) {
    s->due = true;
    due_.push_back(who.slot);
  }
}

void conflation::tick(int64_t now_ms) {
  scratch_.clear();
  scratch_.swap(due_);
  for (const uint32_t slot : scratch_) {
    if (!has(slot) || !slots_[slot]->due) {
      continue;
    }
    per_slot& s = *slots_[slot];
    s.due = false;
    for (auto it = s.tags.begin(); it != s.tags.end();) {
      entry& e = it->second;
      const bool time = now_ms - e.last_sent_ms >= e.interval_ms;
      if (e.pending && time && send(s, *e.pending)) {
        e.pending = message_ref();
        e.last_sent_ms = now_ms;
      }
      if (!e.pending && time) {
        auto idle = it++;
        forget(s, idle);
        continue;
      }
      s.due = s.due || static_cast<bool>(e.pending);
      ++it;
    }
    if (s.due) {
      due_.push_back(slot);
    }
  }
  // Entries sent within their interval and idle since are forgotten by the next offer's
  // tick when the connection's table is full, or with the connection.
}

void conflation::forget(per_slot& s, string_map<entry>::iterator it) {
  s.tags.erase(it);
  metrics_.conflation_tags.sub();
}

void conflation::discard(uint32_t slot, std::string_view key) {
  if (!has(slot)) {
    return;
  }
  per_slot& s = *slots_[slot];
  const bool pattern = is_wildcard(key);
  for (auto it = s.tags.begin(); it != s.tags.end();) {
    if (pattern ? pattern_matches(key, it->first) : it->first == key) {
      auto gone = it++;
      forget(s, gone);
    } else {
      ++it;
    }
  }
}

void conflation::drop(uint32_t slot) {
  if (has(slot)) {
    metrics_.conflation_tags.sub(slots_[slot]->tags.size());
    slots_[slot].reset();  // its due_ entry is skipped
  }
}

}  // namespace wsa
