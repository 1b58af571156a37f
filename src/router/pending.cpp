#include "router/pending.h"

#include <algorithm>

#include "pubsub/hash.h"

namespace wsa {

pending_entry* pending_request::find(std::string_view key) {
  const uint32_t i =
      by_key.find(hash_bytes(key), [&](uint32_t j) { return entries[j].key == key; });
  return i == id_table::npos ? nullptr : &entries[i];
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

pending_request& pending_requests::start(std::unique_ptr<pending_request> request) {
  pending_request* p = request.release();
  p->waiting = 0;
  for (uint32_t i = 0; i < p->entries.size(); ++i) {
    p->by_key.insert(hash_bytes(p->entries[i].key), i);
    p->waiting += p->entries[i].answered ? 0 : 1;
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
  }
  return nullptr;
}

bool pending_requests::hold(uint32_t slot, std::string_view tag, message& m) {
  pending_entry* e = holder(slot, tag);
  if (e == nullptr) {
    return false;  // not waited for, or subscribed before: it flows untouched
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
  if (e != nullptr && !e->cancelled) {
    m.ref();
    e->replay.push_back(&m);
  }
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
  e->answered = true;
  e->ok = ok;
  e->top = top;
  e->epoch.assign(epoch);
  e->gap = gap;
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

// Room for the answer first (about a key and two numbers per entry), then the replays in
// order: what does not fit is dropped and the tag reported as a gap.
uint32_t fit_replays(pending_request& request, std::size_t room) {
  std::size_t used = 64;
  for (const pending_entry& e : request.entries) {
    used += e.key.size() * 2 + 48;
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
        e.replay[k]->unref();
      }
      e.replay.resize(keep);
      e.gap = true;
      ++truncated;
    }
  }
  return truncated;
}

}  // namespace

void plan_delivery(pending_requests& pending, pending_request& request, std::size_t room,
                   sub_delivery& out) {
  out.failed = false;
  out.positions.clear();
  out.failed_new_keys.clear();
  out.messages.clear();
  out.truncated = fit_replays(request, room);
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
  }
  const uint32_t slot = request.who.slot;
  for (pending_entry& e : request.entries) {
    // A key still subscribed gets its replay (if answered) and its held live messages.
    if (e.cancelled || (!e.ok && e.added)) {
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
