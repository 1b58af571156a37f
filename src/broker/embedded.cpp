#include "broker/embedded.h"

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

  if (history_size_ > 0) {
    if (log.ring.empty()) {
      log.ring.assign(history_size_, nullptr);
    }
    frame*& slot = log.ring[(seq - 1) % history_size_];
    if (slot != nullptr) {
      slot->unref();
    }
    slot = msg;
    msg->ref();
    if (log.count < history_size_) {
      ++log.count;
    }
  }
  listener_.on_published(ticket, true, seq, nullptr);
  listener_.on_tag_message(tag, seq, msg);
  msg->unref();
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
        scratch_.push_back({seq, log->ring[(seq - 1) % history_size_]});
      }
    } else if (position.top > after) {
      position.gap = true;  // messages were published but none is retained
    }
  }
  listener_.on_queried(ticket, true, position, scratch_);
}

}  // namespace wsa
