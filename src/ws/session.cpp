#include "ws/session.h"

#include <wslay/wslay.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "util/check.h"

namespace wsa {
namespace {

std::size_t header_size(const unsigned char* first_two) {
  const unsigned length7 = first_two[1] & 0x7f;
  const bool masked = (first_two[1] & 0x80) != 0;
  return 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + (masked ? 4 : 0);
}

}  // namespace

ws_session::ws_session(ws_sink* sink, std::size_t max_message_bytes, std::size_t padding)
    : sink_(sink), max_message_(max_message_bytes), padding_(padding) {
  wslay_event_callbacks callbacks{};
  callbacks.recv_callback = &ws_session::recv_cb;
  callbacks.send_callback = &ws_session::send_cb;
  callbacks.genmask_callback = &ws_session::genmask_cb;
  callbacks.on_frame_recv_start_callback = &ws_session::frame_start_cb;
  callbacks.on_frame_recv_chunk_callback = &ws_session::frame_chunk_cb;
  callbacks.on_msg_recv_callback = &ws_session::msg_cb;
  WSA_CHECK(wslay_event_context_server_init(&ctx_, &callbacks, this) == 0, "out of memory");
  // Data frames come to us chunk by chunk (one copy, into message_); wslay still buffers
  // control frames. It then checks the limit per frame; we check whole messages.
  wslay_event_config_set_no_buffering(ctx_, 1);
  wslay_event_config_set_max_recv_msg_length(ctx_, max_message_);
}

ws_session::~ws_session() {
  wslay_event_context_free(ctx_);
  std::free(message_);
}

void ws_session::note_ping_end(std::size_t at) {
  in_ping_ = false;
  if (ping_end_count_ < max_ping_cuts) {
    ping_ends_[ping_end_count_++] = at;
  }
}

void ws_session::end_unit(std::size_t at) {
  if (unit_from_ == none && unit_done_at_ == none) {
    unit_done_at_ = at;  // the unit held from an earlier input is whole
  }
  unit_open_ = false;
  unit_from_ = none;
}

std::size_t ws_session::scan(const unsigned char* data, std::size_t size) {
  std::size_t at = 0;
  ping_end_count_ = 0;
  close_from_ = none;
  unit_from_ = none;
  unit_done_at_ = none;
  while (at < size) {
    if (payload_left_ > 0) {
      const std::size_t take = size - at < payload_left_ ? size - at : payload_left_;
      payload_left_ -= take;
      at += take;
      if (payload_left_ == 0 && in_ping_) {
        note_ping_end(at);
      }
      if (payload_left_ == 0 && unit_open_) {
        end_unit(at);  // a close frame's payload
      }
      continue;
    }
    header_[header_have_++] = data[at++];
    if (header_have_ == 1) {
      unit_open_ = true;
      unit_from_ = at - 1;
      if ((header_[0] & 0x0f) == 0x8 && close_from_ == none) {
        close_from_ = at - 1;  // (wslay reads nothing after a close: one is enough)
      }
    }
    if (header_have_ < 2 || header_have_ < header_size(header_)) {
      continue;
    }
    const unsigned length7 = header_[1] & 0x7f;
    uint64_t length = length7;
    if (length7 >= 126) {
      const unsigned bytes = length7 == 126 ? 2 : 8;
      length = 0;
      for (unsigned i = 0; i < bytes; ++i) {
        length = (length << 8) | header_[2 + i];
      }
    }
    if (length >> 63 != 0) {
      // Not a length (RFC 6455 section 5.2: the top bit is 0): wslay answers it with 1002,
      // before any limit, wherever the input was cut.
      header_have_ = 0;
      end_unit(at);
      return size;
    }
    // A header may have begun in an earlier input: then nothing of this one is usable.
    const std::size_t header_start = at >= header_have_ ? at - header_have_ : 0;
    header_have_ = 0;
    payload_left_ = length;
    const unsigned opcode = header_[0] & 0x0f;
    const bool fin = (header_[0] & 0x80) != 0;
    if ((opcode & 0x8) != 0) {
      // Control frames: wslay enforces their 125-byte limit, but takes a one-byte close
      // payload (half a status code; RFC 6455 section 5.5.1) for an empty one.
      if (opcode == 0x8 && length == 1) {
        bad_close_ = true;
        unit_open_ = false;  // refused: never given to wslay
        return header_start;
      }
      if (opcode != 0x8 || length == 0 || length > 125) {
        end_unit(at);  // a close's unit ends with its payload (over 125: refused by wslay)
      }
      in_ping_ = opcode == 0x9;
      if (in_ping_ && length == 0) {
        note_ping_end(at);
      }
      continue;
    }
    if (opcode != 0) {
      scanned_message_ = 0;
    }
    scanned_message_ += length;
    scanned_in_message_ = !fin;
    if (scanned_message_ > max_message_) {
      unit_open_ = false;  // refused: never given to wslay
      return header_start;
    }
    end_unit(at);
  }
  return size;
}

ws_session::result ws_session::feed(const char* data, std::size_t size) {
  // Frames before an oversize header still count; the oversize one is refused unread.
  const std::size_t usable = scan(reinterpret_cast<const unsigned char*>(data), size);
  std::size_t from = 0;
  std::size_t to = usable;
  result failure = result::ok;
  if (!held_.empty()) {
    // A header or close frame began in an earlier input: whole now, or still waiting (or
    // refused, and never given).
    if (unit_done_at_ == none) {
      held_.append(data, usable);
      to = 0;
    } else {
      held_.append(data, unit_done_at_);
      const bool given = give(held_.data(), 0, held_.size(), /*at_marks=*/false, failure);
      held_.clear();
      if (!given) {
        return failure;
      }
      from = unit_done_at_;
    }
  }
  if (unit_open_ && unit_from_ != none && unit_from_ < to) {
    held_.assign(data + unit_from_, to - unit_from_);  // the rest comes in a later input
    to = unit_from_;
  }
  if (from < to && !stopped_ && wslay_event_get_read_enabled(ctx_) &&
      !give(data, from, to, /*at_marks=*/true, failure)) {
    return failure;
  }
  if (wslay_event_get_close_sent(ctx_)) {
    // wslay refused (or closed on) a frame before the one scan() refused: its close stands,
    // however the bytes were split.
    return result::closing;
  }
  if (stopped_) {
    return result::stopped;  // what scan() refused lies past the message that stopped it
  }
  if (bad_close_) {
    return result::protocol_error;
  }
  return usable < size ? result::too_big : result::ok;
}

bool ws_session::give(const char* data, std::size_t from, std::size_t to, bool at_marks,
                      result& failure) {
  // wslay gets the input in pieces that end where pings end (and where a close frame
  // begins: it then reads the frame whole), and sends its pongs between.
  std::size_t fed = from;
  do {
    std::size_t end = to;
    if (at_marks) {
      for (unsigned i = 0; i < ping_end_count_; ++i) {
        if (ping_ends_[i] > fed) {
          end = std::min(end, ping_ends_[i]);
          break;
        }
      }
      if (close_from_ != none && close_from_ > fed) {
        end = std::min(end, close_from_);
      }
    }
    input_ = data + fed;
    input_left_ = end - fed;
    fed = end;
    if (wslay_event_recv(ctx_) != 0) {
      // Framing wslay rejects without a status (bad length encoding, a control frame over
      // 125 bytes or fragmented): it queued an empty close; the shard sends 1002 instead.
      failure = result::protocol_error;
      return false;
    }
    if (too_big_) {
      failure = result::too_big;
      return false;
    }
    while (wslay_event_want_write(ctx_)) {
      if (wslay_event_send(ctx_) != 0) {
        failure = result::protocol_error;
        return false;
      }
    }
    flush_output();
  } while (fed < to && !stopped_ && wslay_event_get_read_enabled(ctx_));
  return true;
}

bool ws_session::idle() const {
  return output_.empty() && held_.empty() && header_have_ == 0 && payload_left_ == 0 &&
         !scanned_in_message_ && wslay_event_get_read_enabled(ctx_) &&
         !wslay_event_want_write(ctx_) && !wslay_event_get_close_sent(ctx_) &&
         !wslay_event_get_close_received(ctx_);
}

uint16_t ws_session::close_code_sent() const { return wslay_event_get_status_code_sent(ctx_); }

ssize_t ws_session::recv_cb(wslay_event_context* ctx, uint8_t* buf, std::size_t len, int,
                            void* user) {
  auto* self = static_cast<ws_session*>(user);
  if (self->input_left_ == 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  const std::size_t n = len < self->input_left_ ? len : self->input_left_;
  std::memcpy(buf, self->input_, n);
  self->input_ += n;
  self->input_left_ -= n;
  return static_cast<ssize_t>(n);
}

ssize_t ws_session::send_cb(wslay_event_context*, const uint8_t* data, std::size_t len, int,
                            void* user) {
  auto* self = static_cast<ws_session*>(user);
  self->output_.append(reinterpret_cast<const char*>(data), len);
  return static_cast<ssize_t>(len);
}

void ws_session::flush_output() {
  // wslay sends only control frames for us (pongs, close replies): unmasked, with a payload
  // of at most 125 bytes, so a 2-byte header says where each ends.
  std::size_t at = 0;
  while (output_.size() - at >= 2) {
    const std::size_t size = 2 + (static_cast<unsigned char>(output_[at + 1]) & 0x7f);
    WSA_ASSERT(size <= 127);
    if (output_.size() - at < size) {
      break;
    }
    sink_->on_ws_output(owner_, output_.data() + at, size);
    at += size;
  }
  output_.erase(0, at);
}

int ws_session::genmask_cb(wslay_event_context*, uint8_t* buf, std::size_t len, void*) {
  std::memset(buf, 0, len);  // servers never mask; wslay asks only of clients
  return 0;
}

void ws_session::frame_start_cb(wslay_event_context* ctx,
                                const wslay_event_on_frame_recv_start_arg* arg, void* user) {
  auto* self = static_cast<ws_session*>(user);
  const bool control = (arg->opcode & 0x8) != 0;
  self->data_frame_ = !control;
  if (control) {
    return;
  }
  if (arg->opcode != WSLAY_CONTINUATION_FRAME) {
    self->message_size_ = 0;
    self->message_opcode_ = static_cast<ws_opcode>(arg->opcode);
  }
  // scan() already refused oversize messages; this guards the bytes wslay was given.
  if (self->message_size_ + arg->payload_length > self->max_message_) {
    self->too_big_ = true;
    self->data_frame_ = false;
    wslay_event_shutdown_read(ctx);
  }
}

void ws_session::frame_chunk_cb(wslay_event_context*,
                                const wslay_event_on_frame_recv_chunk_arg* arg, void* user) {
  auto* self = static_cast<ws_session*>(user);
  if (self->data_frame_ && arg->data_length > 0) {
    self->append(arg->data, arg->data_length);
  }
}

void ws_session::msg_cb(wslay_event_context* ctx, const wslay_event_on_msg_recv_arg* arg,
                        void* user) {
  auto* self = static_cast<ws_session*>(user);
  if (self->stopped_ || self->too_big_) {
    return;
  }
  if (arg->opcode == WSLAY_PONG) {
    if (!self->sink_->on_ws_pong(self->owner_)) {
      self->stopped_ = true;
      wslay_event_shutdown_read(ctx);
    }
    return;
  }
  if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME) {
    return;  // ping (wslay queued the pong), close (wslay queued the reply)
  }
  if (self->message_ == nullptr) {
    self->append(nullptr, 0);  // an empty message still gets a padded buffer
  }
  const bool go_on =
      self->sink_->on_ws_message(self->owner_, self->message_opcode_, self->message_,
                                 self->message_size_, self->message_capacity_);
  self->message_size_ = 0;
  if (!go_on) {
    self->stopped_ = true;
    wslay_event_shutdown_read(ctx);
  }
}

void ws_session::append(const uint8_t* data, std::size_t size) {
  const std::size_t needed = message_size_ + size + padding_;
  if (needed > message_capacity_) {
    std::size_t capacity = message_capacity_ == 0 ? 1024 : message_capacity_ * 2;
    while (capacity < needed) {
      capacity *= 2;
    }
    auto* grown = static_cast<char*>(std::realloc(message_, capacity));
    WSA_CHECK(grown != nullptr, "out of memory");
    message_ = grown;
    message_capacity_ = capacity;
  }
  if (size > 0) {
    std::memcpy(message_ + message_size_, data, size);
    message_size_ += size;
  }
}

}  // namespace wsa
