#include "broker/embedded.h"

#include <algorithm>

#include "json/writer.h"

namespace wsa {

embedded_broker::embedded_broker(broker_listener& listener, std::string epoch,
                                 uint32_t history_size, shard_metrics& metrics)
    : listener_(listener),
      epoch_(std::move(epoch)),
      history_size_(history_size),
      metrics_(metrics) {}

embedded_broker::~embedded_broker() {
  for (auto& [tag, log] : tags_) {
    for (frame* f : log.ring) {
      if (f != nullptr) {
        f->unref();
      }
    }
  }
}

void embedded_broker::publish(std::string_view tag, std::string_view data, uint64_t ticket) {
  auto it = tags_.find(tag);
  if (it == tags_.end()) {
    it = tags_.emplace(std::string(tag), tag_log{}).first;
    metrics_.tags_owned.add();
  }
  tag_log& log = it->second;
  const uint64_t seq = ++log.top;

  // Encode once: this frame is the history entry and what every subscriber is sent.
  const std::size_t json_size = msg_json_size(tag, seq, data);
  const std::size_t header = frame_header_size(json_size);
  frame* msg = frame::allocate(header + json_size);
  write_frame_header(msg->data(), ws_opcode::text, json_size);
  write_msg_json(msg->data() + header, tag, seq, data);

  remember(log, msg);
  listener_.on_published(ticket, true, seq, nullptr);
  listener_.on_tag_message(tag, seq, msg);
  msg->unref();
}

void embedded_broker::remember(tag_log& log, frame* msg) {
  if (history_size_ == 0) {
    return;
  }
  const auto capacity = static_cast<uint32_t>(log.ring.size());
  if (log.count == capacity && capacity < history_size_) {
    const uint32_t grown = capacity == 0 ? std::min<uint32_t>(8, history_size_)
                                         : std::min<uint32_t>(capacity * 2, history_size_);
    std::vector<frame*> ring(grown, nullptr);
    for (uint32_t i = 0; i < log.count; ++i) {
      ring[i] = log.at(i);
    }
    log.ring.swap(ring);
    log.head = 0;
  }
  msg->ref();
  if (log.count < log.ring.size()) {
    log.ring[(log.head + log.count) % log.ring.size()] = msg;
    ++log.count;
  } else {
    // Full at history_size: the newest replaces the oldest.
    log.ring[log.head]->unref();
    log.ring[log.head] = msg;
    log.head = (log.head + 1) % static_cast<uint32_t>(log.ring.size());
  }
}

void embedded_broker::query(std::string_view tag, const since_request& since, uint64_t ticket) {
  tag_position position;
  position.epoch = epoch_;
  scratch_.clear();
  auto it = tags_.find(tag);
  const tag_log* log = it == tags_.end() ? nullptr : &it->second;
  position.top = log ? log->top : 0;
  if (since.present) {
    uint64_t after = since.seq;
    // A different epoch, or a seq we never reached, means the client's numbers belong to
    // another life of this tag: report a gap and replay all we have.
    if ((!since.epoch.empty() && since.epoch != epoch_) || since.seq > position.top) {
      position.gap = true;
      after = 0;
    }
    if (log != nullptr && log->count > 0) {
      const uint64_t oldest = log->top - log->count + 1;
      if (oldest > after + 1) {
        position.gap = true;
      }
      for (uint64_t seq = after + 1 > oldest ? after + 1 : oldest; seq <= log->top; ++seq) {
        scratch_.push_back({seq, log->at(static_cast<uint32_t>(seq - oldest))});
      }
    } else if (position.top > after) {
      position.gap = true;  // messages were published but none is retained
    }
  }
  listener_.on_queried(ticket, true, position, scratch_);
}

}  // namespace wsa
