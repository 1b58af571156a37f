// What a worker's connections do in each scenario: which connections it owns, how
// publishers are paced, how deliveries are counted, and the churn cycle.
#include <cstring>

#include "clock.h"
#include "mqtt_codec.h"
#include "payload.h"
#include "worker.h"

namespace wsa::loadgen {

void worker::plan_connections() {
  bool churn = opt_.scenario == scenario_kind::churn;
  uint32_t subs = churn ? 0 : opt_.subs;
  uint32_t pubs = opt_.scenario == scenario_kind::fanout ? opt_.pubs
                  : churn && opt_.pub_rate > 0           ? opt_.pubs
                                                         : 0;
  if (churn) {
    churn_limit_ = opt_.concurrency / count_ + (index_ < opt_.concurrency % count_ ? 1 : 0);
  }
  std::size_t local = 0;
  for (uint32_t g = index_; g < subs; g += count_) {
    ++local;
  }
  for (uint32_t p = index_; p < pubs; p += count_) {
    ++local;
  }
  // Never reallocate: completions and callers hold slot indexes, and buffers in flight
  // belong to the slots' byte_buffers.
  conns_.reserve(local + churn_limit_);
  for (uint32_t p = index_; p < pubs; p += count_) {
    publisher pb;
    pb.slot = take_slot(conn_role::pub, p, 0);
    pb.global = p;
    if (pubs > opt_.tags) {
      pb.tags.push_back(p % opt_.tags);
    } else {
      for (uint32_t t = p; t < opt_.tags; t += pubs) {
        pb.tags.push_back(t);
      }
    }
    pb.seqs.assign(pb.tags.size(), 0);
    local_pub_.resize(pubs, -1);
    local_pub_[p] = static_cast<int32_t>(pubs_.size());
    to_open_.push_back(pb.slot);
    pubs_.push_back(std::move(pb));
  }
  for (uint32_t g = index_; g < subs; g += count_) {
    to_open_.push_back(take_slot(conn_role::sub, g, g % opt_.tags));
  }
  setup_total_ = static_cast<uint32_t>(to_open_.size());
  res_.conns_attempted = setup_total_;
}

void worker::setup_connections() {
  while (open_next_ < to_open_.size() && setting_up_ < opt_.connect_concurrency) {
    uint32_t slot = to_open_[open_next_++];
    ++setting_up_;
    const conn& c = conns_[slot];
    uint32_t src = c.role == conn_role::pub ? opt_.subs + c.global : c.global;
    open_conn(slot, src);
  }
}

void worker::settle_ready(uint32_t slot) {
  conn& c = conns_[slot];
  if (c.settled || c.role == conn_role::churn) {
    return;
  }
  c.settled = true;
  --setting_up_;
  ++setup_done_;
  ++res_.conns_ready;
  if (c.role == conn_role::pub) {
    ++res_.pubs_ready;
  } else {
    ++res_.subs_ready;
    ++local_subs_;
  }
}

void worker::settle_failed(uint32_t slot) {
  conn& c = conns_[slot];
  if (c.settled || c.role == conn_role::churn) {
    return;
  }
  c.settled = true;
  --setting_up_;
  ++setup_done_;
  ++res_.conns_failed;
}

double worker::publish_rate() const {
  return opt_.scenario == scenario_kind::churn ? opt_.pub_rate : opt_.rate;
}

uint64_t worker::due_time(const publisher& pb) const {
  // Publisher p's k-th message is due at start + (p + k * P) / R: publishers interleave
  // evenly instead of sending in bursts.
  double at = (static_cast<double>(pb.global) + static_cast<double>(pb.k) * opt_.pubs) * 1e9 /
              publish_rate();
  return ctrl_.start + static_cast<uint64_t>(at);
}

bool worker::publisher_wants(const publisher& pb) const {
  const conn& c = conns_[pb.slot];
  if (pb.done || c.state != conn_state::ready || c.queued() >= opt_.pub_window) {
    return false;
  }
  if (opt_.window > 0 && pb.window_deliveries > 0 && pb.owed >= pb.window_deliveries) {
    return false;
  }
  return opt_.acks == 0 || c.acks_inflight < opt_.acks;
}

void worker::publish_phase(uint64_t now) {
  if (phase_ != phase::running || now < ctrl_.start) {
    return;
  }
  if (opt_.window > 0 && !window_sized_) {
    // Subscribers are all ready now: size each publisher's closed-loop window.
    window_sized_ = true;
    for (publisher& pb : pubs_) {
      uint64_t subs = 0;
      for (uint32_t t : pb.tags) {
        subs += live_subs_[t];
      }
      pb.window_deliveries = uint64_t{opt_.window} * subs / pb.tags.size();
    }
  }
  double rate = publish_rate();
  for (publisher& pb : pubs_) {
    conn& c = conns_[pb.slot];
    bool wrote = false;
    while (publisher_wants(pb)) {
      uint64_t t;
      if (rate > 0) {
        t = due_time(pb);
        if (t > now) {
          break;
        }
        if (t >= ctrl_.end) {
          pb.done = true;
          break;
        }
      } else {
        if (now >= ctrl_.end) {
          pb.done = true;
          break;
        }
        t = now;
      }
      write_publish(c, pb, t);
      wrote = true;
    }
    if (wrote) {
      mark_dirty(pb.slot);
    }
  }
}

void worker::write_publish(conn& c, publisher& pb, uint64_t t) {
  uint32_t ti = pb.cursor;
  pb.cursor = pb.cursor + 1 == pb.tags.size() ? 0 : pb.cursor + 1;
  uint32_t tag = pb.tags[ti];
  stamp s{t, pb.global, pb.seqs[ti]++};
  ++pb.k;
  std::size_t dlen = data_size(s, opt_.size);
  bool acked = opt_.acks > 0;
  switch (opt_.proto) {
    case proto_kind::wsagent: {
      const std::string& tail = pub_tail_[tag];
      uint64_t id = c.next_id;
      std::size_t head = acked ? 17 + digits_u64(id) + 1 : 12;  // {"op":"pub","id":N,
      std::size_t body = head + tail.size() + dlen + 1;
      char* w = c.pending.extend(ws_client_header_size(body) + body);
      uint32_t mask = c.next_mask();
      char* b = w + ws_write_header(w, ws_text, body, mask);
      char* q = b;
      if (acked) {
        std::memcpy(q, "{\"op\":\"pub\",\"id\":", 17);
        q = write_u64(q + 17, id);
        *q++ = ',';
        ++c.next_id;
      } else {
        std::memcpy(q, "{\"op\":\"pub\",", 12);
        q += 12;
      }
      std::memcpy(q, tail.data(), tail.size());
      q = write_data(q + tail.size(), s, opt_.size);
      *q = '}';
      ws_mask(b, body, mask);
      break;
    }
    case proto_kind::mqtt:
    case proto_kind::mqtt_ws: {
      const std::string& topic = tag_names_[tag];
      uint16_t packet_id = 0;
      if (opt_.qos > 0) {
        c.mqtt_packet_id = static_cast<uint16_t>(c.mqtt_packet_id == 65535 ? 1 : c.mqtt_packet_id + 1);
        packet_id = c.mqtt_packet_id;
      }
      std::size_t inner = mqtt_publish_size(topic.size(), opt_.qos, dlen);
      bool ws = opt_.proto == proto_kind::mqtt_ws;
      std::size_t wsh = ws ? ws_client_header_size(inner) : 0;
      char* w = c.pending.extend(wsh + inner);
      uint32_t mask = 0;
      char* b = w;
      if (ws) {
        mask = c.next_mask();
        b = w + ws_write_header(w, ws_binary, inner, mask);
      }
      char* q = mqtt_write_publish_head(b, topic, opt_.qos, packet_id, dlen);
      write_data(q, s, opt_.size);
      if (ws) {
        ws_mask(b, inner, mask);
      }
      break;
    }
  }
  if (acked) {
    ++c.acks_inflight;
  }
  pb.owed += live_subs_[tag];
  ++res_.published;
  if (t >= window_ && t < window_end_) {
    ++res_.published_window;
    ++res_.pub_window_per_tag[tag];
  }
}

uint64_t worker::churn_due() const {
  double rate = opt_.rate;
  if (rate <= 0) {
    return 0;  // as fast as the concurrency allows
  }
  // Cycle number g = k * K + index over all processes is due at start + g / rate.
  double g = static_cast<double>(churn_k_) * count_ + index_;
  return ctrl_.start + static_cast<uint64_t>(g * 1e9 / rate);
}

void worker::churn_phase(uint64_t now) {
  if (opt_.scenario != scenario_kind::churn || phase_ != phase::running) {
    return;
  }
  // Bounded per turn so that a synchronous failure (e.g. out of file descriptors) at
  // --rate 0 cannot spin here forever.
  for (uint32_t started = 0; started < churn_limit_ && churn_active_ < churn_limit_ &&
                             now < ctrl_.end && churn_due() <= now;
       ++started) {
    auto g = static_cast<uint32_t>(churn_k_ * count_ + index_);
    uint32_t slot = take_slot(conn_role::churn, g, g % opt_.tags);
    ++churn_active_;
    ++churn_k_;
    ++res_.cycles_started;
    open_conn(slot, g);
  }
}

void worker::end_cycle(uint32_t slot, bool ok) {
  conn& c = conns_[slot];
  if (c.settled) {
    return;
  }
  c.settled = true;
  if (ok) {
    ++res_.cycles_ok;
    res_.cycle.record(now_ns() - c.t_start);
    if (c.t_start >= window_ && c.t_start < window_end_) {
      ++res_.cycles_window;
    }
  } else {
    ++res_.cycles_failed;
  }
}

void worker::forget_subscriber(uint32_t slot) {
  conn& c = conns_[slot];
  c.live = false;
  --live_subs_[c.tag];
  // What a dead subscriber still owed will never arrive: release it from the closed loop.
  for (publisher& pb : pubs_) {
    for (std::size_t i = 0; i < pb.tags.size(); ++i) {
      if (pb.tags[i] != c.tag) {
        continue;
      }
      uint64_t got = c.next_seq ? c.next_seq[pb.global] : 0;
      uint64_t missing = pb.seqs[i] > got ? pb.seqs[i] - got : 0;
      pb.owed = pb.owed > missing ? pb.owed - missing : 0;
    }
  }
}

}  // namespace wsa::loadgen
