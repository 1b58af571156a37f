#include "router/pending.h"

#include <algorithm>

#include "broker/recovery.h"
#include "pubsub/hash.h"
#include "pubsub/tag.h"
#include "router/known_positions.h"

namespace wsa {

pending_entry* pending_request::find(std::string_view key) {
  const uint32_t i =
      by_key.find(hash_bytes(key), [&](uint32_t j) { return entries[j].key == key; });
  return i == id_table::npos ? nullptr : &entries[i];
}

uint32_t pending_entry::find_tag(std::string_view tag) const {
  return tag_index.find(hash_bytes(tag), [&](uint32_t j) { return tags[j].tag == tag; });
}

pending_request::~pending_request() {
  for (pending_entry& e : entries) {
    for (message* m : e.replay) {
      m->unref();
    }
    for (message* m : e.held) {
      m->unref();
    }
  }
}

pending_requests::~pending_requests() {
  for (pending_request* head : heads_) {
    while (head != nullptr) {
      pending_request* next = head->next;
      delete head;
      head = next;
    }
  }
}

std::unique_ptr<pending_request> pending_requests::open(subscriber_id who,
                                                        std::string_view request_id) {
  auto p = std::make_unique<pending_request>();
  p->who = who;
  p->request = next_request_++;
  if (next_request_ == 0) {
    next_request_ = 1;  // 0 is never a request number
  }
  p->request_id.assign(request_id);
  return p;
}

namespace {

// A recovery's known positions, read once (the entry no longer moves: `known` stays put).
void index_known(pending_entry& e) {
  if (!e.recovery || e.known.empty() || !read_known(e.known, e.known_list)) {
    return;
  }
  e.known_set = std::make_unique<known_tags>(e.known_list);
}

}  // namespace

pending_request& pending_requests::start(std::unique_ptr<pending_request> request) {
  pending_request* p = request.release();
  p->waiting = 0;
  for (uint32_t i = 0; i < p->entries.size(); ++i) {
    p->by_key.insert(hash_bytes(p->entries[i].key), i);
    index_known(p->entries[i]);
    p->waiting += p->entries[i].answered ? 0 : 1;
    p->pattern_holds = p->pattern_holds || p->entries[i].recovery;
  }
  const uint32_t slot = p->who.slot;
  if (slot >= heads_.size()) {
    heads_.resize(slot + 1 > heads_.size() * 2 ? slot + 1 : heads_.size() * 2, nullptr);
  }
  // At the end: answers complete requests in any order; each keeps its own entries.
  pending_request** link = &heads_[slot];
  while (*link != nullptr) {
    link = &(*link)->next;
  }
  *link = p;
  return *p;
}

std::unique_ptr<pending_request> pending_requests::finish_early(pending_request& request) {
  unlink(&request);
  return std::unique_ptr<pending_request>(&request);
}

pending_entry* pending_requests::holder(uint32_t slot, std::string_view tag) const {
  for (pending_request* p = any(slot) ? heads_[slot] : nullptr; p != nullptr; p = p->next) {
    pending_entry* e = p->find(tag);
    if (e != nullptr && e->hold && !e->cancelled) {
      return e;
    }
    if (!p->pattern_holds) {
      continue;
    }
    for (pending_entry& r : p->entries) {
      if (r.recovery && !r.cancelled && pattern_matches(r.key, tag)) {
        return &r;
      }
    }
  }
  return nullptr;
}

bool pending_requests::hold(uint32_t slot, std::string_view tag, message& m) {
  pending_entry* e = holder(slot, tag);
  if (e == nullptr) {
    return false;  // not waited for, or subscribed before: it flows untouched
  }
  if (e->recovery) {
    // Every tag of a pattern may be held, for as long as the owners take: bounded.
    if (e->hold_cut) {
      return true;
    }
    if (e->held_bytes + m.wire_bytes() > e->replay_bytes) {
      for (message* h : e->held) {
        h->unref();
      }
      e->held.clear();
      e->held_bytes = 0;
      e->hold_cut = true;
      return true;
    }
    e->held_bytes += m.wire_bytes();
  }
  m.ref();
  e->held.push_back(&m);
  return true;
}

bool pending_requests::holding(uint32_t slot, std::string_view key) const {
  return holder(slot, key) != nullptr;
}

std::size_t pending_requests::recoveries(uint32_t slot) const {
  std::size_t n = 0;
  for (const pending_request* p = any(slot) ? heads_[slot] : nullptr; p != nullptr; p = p->next) {
    n += p->recovers ? 1 : 0;
  }
  return n;
}

pending_request* pending_requests::find(subscriber_id to, uint32_t request) const {
  if (to.slot >= heads_.size()) {
    return nullptr;
  }
  for (pending_request* p = heads_[to.slot]; p != nullptr; p = p->next) {
    if (p->request == request) {
      return p->who.generation == to.generation ? p : nullptr;
    }
  }
  return nullptr;
}

void pending_requests::on_replay(subscriber_id to, uint32_t request, std::string_view key,
                                 message& m) {
  pending_request* p = find(to, request);
  pending_entry* e = p == nullptr ? nullptr : p->find(key);
  if (e == nullptr || e->cancelled) {
    return;
  }
  if (e->recovery && e->find_tag(m.tag()) == id_table::npos) {
    return;  // a tag past max_tags
  }
  m.ref();
  e->replay.push_back(&m);
}

void pending_requests::on_pattern_position(subscriber_id to, uint32_t request,
                                           std::string_view key, std::string_view tag,
                                           uint64_t top, std::string_view epoch, bool gap) {
  pending_request* p = find(to, request);
  pending_entry* e = p == nullptr ? nullptr : p->find(key);
  if (e == nullptr || !e->recovery || e->answered || e->find_tag(tag) != id_table::npos) {
    return;
  }
  if (e->tags.size() >= e->max_tags) {
    e->gap = true;  // more tags than --max-recovery-tags: the pattern's gap
    const uint32_t k = e->known_set != nullptr ? e->known_set->find(tag) : tag_set::npos;
    if (k != tag_set::npos) {
      e->dropped_at.resize(e->known_list.size(), id_table::npos);
      if (e->dropped_at[k] == id_table::npos) {
        e->dropped_at[k] = static_cast<uint32_t>(e->dropped_named.size());
        named_position& d = e->dropped_named.emplace_back();
        d.tag.assign(tag);
        d.position.top = top;
        d.position.epoch.assign(epoch);
      }
    }
    return;
  }
  e->tag_index.insert(hash_bytes(tag), static_cast<uint32_t>(e->tags.size()));
  named_position& n = e->tags.emplace_back();
  n.tag.assign(tag);
  n.position.top = top;
  n.position.epoch.assign(epoch);
  n.position.gap = gap;
}

std::unique_ptr<pending_request> pending_requests::on_answer(subscriber_id to,
                                                             uint32_t request,
                                                             std::string_view key, bool ok,
                                                             uint64_t top,
                                                             std::string_view epoch, bool gap) {
  pending_request* p = find(to, request);
  pending_entry* e = p == nullptr ? nullptr : p->find(key);
  if (e == nullptr || e->answered) {
    return nullptr;
  }
  if (e->recovery) {
    // One answer per owner; the pattern's gap is any owner's (or past max_tags).
    e->ok = e->ok && ok;
    e->gap = e->gap || gap;
    e->considered += top;  // a pattern answer's top: the tags that owner considered
    if (--e->parts != 0) {
      return nullptr;
    }
    e->answered = true;
  } else {
    e->answered = true;
    e->ok = ok;
    e->top = top;
    e->epoch.assign(epoch);
    e->gap = gap;
  }
  if (--p->waiting != 0) {
    return nullptr;
  }
  unlink(p);
  return std::unique_ptr<pending_request>(p);
}

void pending_requests::unlink(pending_request* p) {
  for (pending_request** link = &heads_[p->who.slot]; *link != nullptr; link = &(*link)->next) {
    if (*link == p) {
      *link = p->next;
      p->next = nullptr;
      return;
    }
  }
}

void pending_requests::cancel(uint32_t slot, std::string_view key) {
  if (!any(slot)) {
    return;
  }
  for (pending_request* p = heads_[slot]; p != nullptr; p = p->next) {
    if (pending_entry* e = p->find(key)) {
      e->cancelled = true;
    }
  }
}

void pending_requests::drop(uint32_t slot) {
  if (!any(slot)) {
    return;
  }
  pending_request* p = heads_[slot];
  heads_[slot] = nullptr;
  while (p != nullptr) {
    pending_request* next = p->next;
    delete p;
    p = next;
  }
}

namespace {

// A pattern recovery's tags each get an even share of its replay budget over the tags the
// owners considered (what each broker already gives at most; the embedded broker's shards
// each count only their own tags): the same answer on every broker, whatever the shards and
// the order of their answers. Each tag keeps its oldest messages; one cut short is a gap.
uint32_t share_recovery(pending_entry& e) {
  if (!e.recovery || e.cancelled || !e.ok || e.replay.empty()) {
    return 0;
  }
  const uint64_t share = e.replay_bytes / std::max<uint64_t>(e.considered, 1);
  std::vector<uint64_t> used(e.tags.size(), 0);
  std::vector<uint8_t> cut(e.tags.size(), 0);
  uint32_t truncated = 0;
  std::size_t kept = 0;
  for (message* m : e.replay) {
    const uint32_t i = e.find_tag(m->tag());  // on_replay kept listed tags only
    if (cut[i] == 0 && used[i] + m->wire_bytes() <= share) {
      used[i] += m->wire_bytes();
      e.replay[kept++] = m;
      continue;
    }
    if (cut[i] == 0) {
      cut[i] = 1;
      e.tags[i].position.gap = true;
      ++truncated;
    }
    m->unref();
  }
  e.replay.resize(kept);
  return truncated;
}

// Room for the answer first (about a key and two numbers per entry), then the replays in
// order: what does not fit is dropped and the tag reported as a gap.
uint32_t fit_replays(pending_request& request, std::size_t room) {
  std::size_t used = 64;
  for (const pending_entry& e : request.entries) {
    used += e.key.size() * 2 + 48;
    for (const named_position& t : e.tags) {
      used += t.tag.size() * 2 + 48;
    }
  }
  uint32_t truncated = 0;
  for (pending_entry& e : request.entries) {
    if (e.cancelled || !e.ok) {
      continue;
    }
    std::size_t keep = 0;
    while (keep < e.replay.size() && used + e.replay[keep]->wire_bytes() <= room) {
      used += e.replay[keep]->wire_bytes();
      ++keep;
    }
    if (keep < e.replay.size()) {
      for (std::size_t k = keep; k < e.replay.size(); ++k) {
        if (e.recovery) {
          e.tags[e.find_tag(e.replay[k]->tag())].position.gap = true;
        }
        e.replay[k]->unref();
      }
      e.replay.resize(keep);
      e.gap = e.gap || !e.recovery;  // a pattern's own gap means past --max-recovery-tags
      ++truncated;
    }
  }
  return truncated;
}

// Where the held messages of a tag the client named, and that was not replayed, start:
// after the client's seq, unless the tag came past max_tags from another life (its seqs
// started again: the client's seq says nothing of them, and the client has none of them),
// then from the first.
uint64_t named_floor(const pending_entry& e, uint32_t k) {
  const known_position& known = e.known_list[k];
  if (k >= e.dropped_at.size() || e.dropped_at[k] == id_table::npos) {
    return known.seq;
  }
  const tag_position& now = e.dropped_named[e.dropped_at[k]].position;
  const recovery_plan plan =
      plan_recovery(since_request{true, known.seq, known.epoch}, now.epoch, now.top);
  return plan.restart ? 0 : known.seq;
}

// A pattern recovery's messages: each tag's replay, then the held live messages above
// max(its top, its last replayed, the position the client gave for it).
void deliver_recovery(pending_requests& pending, pending_entry& e, uint32_t slot,
                      sub_delivery& out) {
  std::vector<uint64_t> last(e.tags.size(), 0);
  if (e.ok) {
    for (message* m : e.replay) {
      const uint32_t i = e.find_tag(m->tag());
      if (m->seq() > last[i]) {
        out.messages.push_back(m);
        last[i] = m->seq();
      }
    }
  }
  for (message* m : e.held) {
    const uint32_t i = e.find_tag(m->tag());
    uint64_t floor = 0;
    if (i != id_table::npos) {
      floor = std::max(e.ok ? e.tags[i].position.top : 0, last[i]);
    } else if (e.known_set != nullptr) {
      if (const uint32_t k = e.known_set->find(m->tag()); k != tag_set::npos) {
        floor = named_floor(e, k);
      }
    }
    if (m->seq() <= floor) {
      continue;
    }
    if (pending_entry* next = pending.holder(slot, m->tag())) {
      m->ref();
      next->held.push_back(m);
      continue;
    }
    out.messages.push_back(m);
    if (i != id_table::npos) {
      last[i] = m->seq();
    }
  }
}

}  // namespace

void plan_delivery(pending_requests& pending, pending_request& request, std::size_t room,
                   sub_delivery& out) {
  out.failed = false;
  out.positions.clear();
  out.failed_new_keys.clear();
  out.messages.clear();
  out.truncated = 0;
  for (pending_entry& e : request.entries) {
    out.truncated += share_recovery(e);
  }
  out.truncated += fit_replays(request, room);
  for (const pending_entry& e : request.entries) {
    if (e.cancelled) {
      continue;
    }
    if (!e.ok) {
      // The broker could not say where the key stands: what this request added ends; what
      // the connection held before stays as it was (a refused request changes nothing).
      out.failed = true;
      if (e.added) {
        out.failed_new_keys.push_back(e.key);
      }
      continue;
    }
    if (!e.pattern) {
      out.positions.push_back({e.key, e.top, e.epoch, e.gap});
    }
    for (const named_position& t : e.tags) {
      out.positions.push_back({t.tag, t.position.top, t.position.epoch, t.position.gap});
    }
    if (e.recovery && (e.gap || e.hold_cut)) {
      // Past --max-recovery-tags, or live messages dropped while held: the client reloads.
      out.positions.push_back({e.key, 0, {}, true, true});
    }
  }
  const uint32_t slot = request.who.slot;
  for (pending_entry& e : request.entries) {
    // A key still subscribed gets its replay (if answered) and its held live messages.
    if (e.cancelled || (!e.ok && e.added)) {
      continue;
    }
    if (e.recovery) {
      deliver_recovery(pending, e, slot, out);
      continue;
    }
    uint64_t last = e.floor;
    if (e.ok) {
      for (message* m : e.replay) {
        if (m->seq() > last) {
          out.messages.push_back(m);
          last = m->seq();
        }
      }
    }
    // Held live messages at or below the reported top were published before the
    // subscription took effect (and the replay has them if they were asked for). Those above
    // go out now, or, if another request of this connection still waits for the key, to
    // that request: they must not overtake its replay.
    const uint64_t floor = std::max(e.ok ? e.top : 0, last);
    pending_entry* next = pending.holder(slot, e.key);
    for (message* m : e.held) {
      if (m->seq() <= floor) {
        continue;
      }
      if (next != nullptr) {
        m->ref();
        next->held.push_back(m);
        continue;
      }
      out.messages.push_back(m);
      last = m->seq();
    }
    for (pending_request* q = pending.any(slot) ? pending.heads_[slot] : nullptr; q != nullptr;
         q = q->next) {
      if (pending_entry* waiting = q->find(e.key)) {
        waiting->floor = std::max(waiting->floor, last);
      }
    }
  }
}

}  // namespace wsa
