// Session record encoding and the position tracker. See session_record.h.
#include "mqtt/session_record.h"

#include <algorithm>
#include <limits>

#include "mqtt/topic.h"

namespace wsa::mqtt {
namespace {

constexpr uint8_t record_version = 1;
constexpr uint64_t max_items = 1'000'000;  // bounds a corrupt record's counts

void put(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>(v | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put(std::string& out, std::string_view s) {
  put(out, uint64_t{s.size()});
  out += s;
}

class record_reader {
 public:
  explicit record_reader(std::string_view s) : s_(s) {}
  bool done() const { return s_.empty(); }

  bool get(uint64_t& v) {
    v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (s_.empty()) {
        return false;
      }
      const auto b = static_cast<unsigned char>(s_.front());
      s_.remove_prefix(1);
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) {
        return true;
      }
    }
    return false;
  }

  template <class T>
  bool get_bounded(T& v, uint64_t max = std::numeric_limits<T>::max()) {
    uint64_t x = 0;
    if (!get(x) || x > max) {
      return false;
    }
    v = static_cast<T>(x);
    return true;
  }

  bool get(std::string& s) {
    uint64_t n = 0;
    if (!get(n) || n > s_.size()) {
      return false;
    }
    s.assign(s_.substr(0, n));
    s_.remove_prefix(n);
    return true;
  }

 private:
  std::string_view s_;
};

uint8_t pack(const subscription_options& o) {
  return static_cast<uint8_t>(o.qos | (o.no_local ? 0x04 : 0) | (o.retain_as_published ? 0x08 : 0) |
                              (o.retain_handling << 4));
}

}  // namespace

void encode_session_record(const session_record& r, std::string& out) {
  out += static_cast<char>(record_version);
  put(out, uint64_t{static_cast<uint8_t>(r.level)});
  put(out, uint64_t{r.expiry_interval});
  put(out, static_cast<uint64_t>(std::max<int64_t>(0, r.ended_at_ms)));
  put(out, static_cast<uint64_t>(std::max<int64_t>(0, r.resume_ts_ms)));
  put(out, r.next_reception);
  put(out, uint64_t{r.qos2_held.size()});
  for (const auto& [id, number] : r.qos2_held) {
    put(out, uint64_t{id});
    put(out, number);
  }
  put(out, uint64_t{r.subscriptions.size()});
  for (const stored_subscription& s : r.subscriptions) {
    put(out, s.filter);
    put(out, uint64_t{pack(s.options)});
    put(out, uint64_t{s.options.subscription_id});
  }
  put(out, uint64_t{r.positions.size()});
  for (const stored_position& p : r.positions) {
    put(out, p.tag);
    put(out, p.epoch);
    put(out, p.seq);
  }
}

bool decode_session_record(std::string_view bytes, session_record& r) {
  r = session_record{};
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != record_version) {
    return false;
  }
  record_reader in(bytes.substr(1));
  uint8_t level = 0;
  uint64_t n = 0;
  if (!in.get_bounded(level) || (level != 4 && level != 5) || !in.get_bounded(r.expiry_interval) ||
      !in.get_bounded(r.ended_at_ms) || !in.get_bounded(r.resume_ts_ms) ||
      !in.get(r.next_reception) || !in.get(n) || n > 65535) {
    return false;
  }
  r.level = static_cast<protocol>(level);
  for (uint64_t i = 0; i < n; ++i) {
    uint16_t id = 0;
    uint64_t number = 0;
    if (!in.get_bounded(id) || id == 0 || !in.get(number)) {
      return false;
    }
    r.qos2_held.emplace_back(id, number);
  }
  if (!in.get(n) || n > max_items) {
    return false;
  }
  for (uint64_t i = 0; i < n; ++i) {
    stored_subscription s;
    uint8_t flags = 0;
    filter_patterns patterns;
    if (!in.get(s.filter) || !filter_to_patterns(s.filter, patterns) || !in.get_bounded(flags) ||
        (flags & 0xc3) > max_granted_qos || ((flags >> 4) & 3) == 3 ||
        !in.get_bounded(s.options.subscription_id, 268'435'455)) {
      return false;
    }
    s.options.qos = flags & 0x03;
    s.options.no_local = (flags & 0x04) != 0;
    s.options.retain_as_published = (flags & 0x08) != 0;
    s.options.retain_handling = (flags >> 4) & 0x03;
    r.subscriptions.push_back(std::move(s));
  }
  if (!in.get(n) || n > max_items) {
    return false;
  }
  for (uint64_t i = 0; i < n; ++i) {
    stored_position p;
    if (!in.get(p.tag) || !in.get(p.epoch) || !in.get(p.seq)) {
      return false;
    }
    r.positions.push_back(std::move(p));
  }
  return in.done();
}

bool session_expired(const session_record& r, int64_t now_ms) {
  return r.ended_at_ms != 0 && now_ms - r.ended_at_ms >= int64_t{r.expiry_interval} * 1000;
}

uint32_t position_tracker::add(const message_position& p, bool pinned) {
  if (maximum_ == 0) {
    return 0;
  }
  uint32_t forgotten = 0;
  if (!pinned && map_.size() >= maximum_) {
    forgotten = forget_older_half();
    if (forgotten == 0) {
      return 1;  // every position is pinned: this tag resumes by time
    }
  }
  entry& e = map_.emplace(std::string(p.tag), entry{}).first->second;
  e.pinned = pinned;
  set(e, p);
  return forgotten;
}

void position_tracker::move(entry& e, const message_position& p) {
  if ((p.epoch.empty() || e.epoch == p.epoch) && e.seq >= p.seq) {
    return;  // an older message acknowledged late: the position stays
  }
  set(e, p);
}

void position_tracker::set(entry& e, const message_position& p) {
  if (!p.epoch.empty()) {  // (empty: a message's position, in the epoch the tag has)
    e.epoch.assign(p.epoch);
  }
  e.seq = p.seq;
  e.ts_ms = std::max(e.ts_ms, p.ts_ms);
}

uint32_t position_tracker::forget_older_half() {
  // One pass and a partial sort per maximum/2 new tags, instead of a scan per new tag.
  std::vector<std::pair<int64_t, std::string_view>> unpinned;
  unpinned.reserve(map_.size());
  for (const auto& [tag, e] : map_) {
    if (!e.pinned) {
      unpinned.emplace_back(e.ts_ms, tag);
    }
  }
  if (unpinned.empty()) {
    return 0;
  }
  const std::size_t n = std::max<std::size_t>(1, unpinned.size() / 2);
  std::nth_element(unpinned.begin(), unpinned.begin() + static_cast<std::ptrdiff_t>(n - 1),
                   unpinned.end());
  for (std::size_t i = 0; i < n; ++i) {
    map_.erase(map_.find(unpinned[i].second));  // (a view of the erased key, unused after)
  }
  return static_cast<uint32_t>(n);
}

void position_tracker::pin(std::string_view tag) {
  if (const auto it = map_.find(tag); it != map_.end()) {
    it->second.pinned = true;
  }
}

bool position_tracker::unpin(std::string_view tag, bool still_matched) {
  const auto it = map_.find(tag);
  if (it == map_.end()) {
    return false;
  }
  if (still_matched) {
    it->second.pinned = false;
    return false;
  }
  map_.erase(it);
  return true;
}

void position_tracker::subscribed(int64_t now_ms) {
  if (subscribed_ts_ms_ == 0) {
    subscribed_ts_ms_ = now_ms;
  }
}

void position_tracker::snapshot(std::span<const message_position> unacked,
                                session_record& r) const {
  // Per tag, its oldest unacknowledged seq: the position goes back to just before it (seq 1,
  // a tag's first message, to 0). 0: forget the position, an unacknowledged message is
  // from another epoch: replay by time.
  std::unordered_map<std::string_view, uint64_t, seeded_string_hash> oldest_unacked;
  // The newest position less the margin; else where a restored session stood; else (never
  // delivered to) the first wildcard subscription's time less the margin.
  int64_t resume = newest_ts_ms_ > 0           ? newest_ts_ms_ - resume_margin_ms
                   : restored_resume_ts_ms_ > 0 ? restored_resume_ts_ms_
                   : subscribed_ts_ms_ > 0      ? subscribed_ts_ms_ - resume_margin_ms
                                                : 0;
  for (const message_position& u : unacked) {
    resume = std::min(resume, u.ts_ms);
    const auto it = map_.find(u.tag);
    if (it == map_.end()) {
      continue;  // never acknowledged: its replay goes by time
    }
    const uint64_t oldest = u.epoch.empty() || it->second.epoch == u.epoch ? u.seq : 0;
    const auto [p, fresh] = oldest_unacked.emplace(u.tag, oldest);
    if (!fresh) {
      p->second = std::min(p->second, oldest);
    }
  }
  r.positions.clear();
  r.positions.reserve(map_.size());
  for (const auto& [tag, e] : map_) {
    uint64_t seq = e.seq;
    if (const auto p = oldest_unacked.find(tag); p != oldest_unacked.end()) {
      if (p->second == 0) {
        continue;
      }
      seq = std::min(seq, p->second - 1);
    }
    r.positions.push_back({tag, e.epoch, seq});
  }
  r.resume_ts_ms = std::max<int64_t>(0, resume);
  std::sort(r.positions.begin(), r.positions.end(),
            [](const stored_position& a, const stored_position& b) { return a.tag < b.tag; });
}

void position_tracker::restore(const session_record& r) {
  map_.clear();
  for (const stored_position& p : r.positions) {
    map_[p.tag] = entry{p.epoch, p.seq, r.resume_ts_ms};
  }
  restored_resume_ts_ms_ = r.resume_ts_ms;
  newest_ts_ms_ = 0;
}

}  // namespace wsa::mqtt
