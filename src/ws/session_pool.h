// The detached wslay contexts of one handler on one shard (session.h: a session is attached
// to a connection only mid-message, and goes back to the pool at a message boundary). Every
// session of a pool has the same sink, message limit and padding. Shard thread only.
#pragma once

#include <cstddef>
#include <vector>

#include "ws/session.h"

namespace wsa {

class ws_session_pool {
 public:
  /// Sessions for `sink` with a `max_message_bytes` limit and `padding`; at most `keep` idle
  /// ones are kept.
  ws_session_pool(ws_sink* sink, std::size_t max_message_bytes, std::size_t padding,
                  std::size_t keep)
      : sink_(sink), max_message_bytes_(max_message_bytes), padding_(padding), keep_(keep) {}
  ~ws_session_pool() {
    for (ws_session* s : free_) {
      delete s;
    }
  }
  ws_session_pool(const ws_session_pool&) = delete;
  ws_session_pool& operator=(const ws_session_pool&) = delete;

  /// A session attached to `owner`: a pooled one, else a new one.
  ws_session* acquire(void* owner) {
    ws_session* s = nullptr;
    if (free_.empty()) {
      s = new ws_session(sink_, max_message_bytes_, padding_);
    } else {
      s = free_.back();
      free_.pop_back();
    }
    s->attach(owner);
    return s;
  }

  /// Takes back a session no connection uses any more.
  void release(ws_session* s) {
    if (s->idle() && free_.size() < keep_) {
      free_.push_back(s);
    } else {
      delete s;  // mid-message or closing: its wslay state is not reusable
    }
  }

 private:
  ws_sink* const sink_;
  const std::size_t max_message_bytes_;
  const std::size_t padding_;
  const std::size_t keep_;
  std::vector<ws_session*> free_;
};

}  // namespace wsa
