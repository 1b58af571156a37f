// A published message as it exists once per shard: its tag, its `seq`, its publication time,
// the publisher's `data` bytes (raw JSON) and, for some, the publisher's metadata (`meta`:
// opaque bytes a transport attaches and reads back, such as MQTT's retain flag, expiry and
// 5.0 properties; brokers and the router carry them, never read them; empty for most), in
// one reference-counted allocation. The
// broker makes it and keeps references in its history (the message is the history entry);
// the router fans it out; each transport encodes its own frame from it once, on first use,
// and caches it here, so every subscriber of that transport on this shard gets the same
// frame by reference, live or replayed (docs/architecture.md "Messages").
//
// Shard-local: the count is not atomic and a message never crosses to another shard (a
// deliver record carries its fields; the receiving shard makes its own message). Fields are
// immutable once made; only the encoding cache changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "net/frame.h"

namespace wsa {

/// Which cached encoding: each transport owns one number (ws/msg_frame.h: WebSocket v1;
/// handlers/mqtt_frames.h: MQTT 3.1.1 and 5.0, over TCP and over WebSocket, and the bodies
/// their per-delivery heads share). The broker and the router never look at encodings.
using encoding_slot = uint8_t;
inline constexpr unsigned max_encodings = 7;

class message {
 public:
  /// A message with refcount 1; `ts_ms` is the broker's publication time (Unix ms, 0: not
  /// known); `meta` at most max_meta_bytes. Aborts when out of memory.
  static message* make(std::string_view tag, uint64_t seq, int64_t ts_ms, std::string_view data,
                       std::string_view meta = {});
  static constexpr std::size_t max_meta_bytes = UINT16_MAX;

  std::string_view tag() const { return {chars(), tag_size_}; }
  uint64_t seq() const { return seq_; }
  int64_t ts_ms() const { return ts_ms_; }
  std::string_view data() const { return {chars() + tag_size_, data_size_}; }
  /// The publisher's metadata (empty: none), after the data: data() does not depend on it.
  std::string_view meta() const { return {chars() + tag_size_ + data_size_, meta_size_}; }

  /// Bytes this message keeps alive: itself and the frames cached on it.
  std::size_t memory_bytes() const;
  /// At least the size of any transport's frame of it (tag, data and an envelope): what
  /// brokers count when they bound a replay or a retained history by bytes.
  std::size_t wire_bytes() const { return tag_size_ + data_size_ + meta_size_ + wire_envelope; }
  static constexpr std::size_t wire_envelope = 80;

  /// The frame cached for `slot`, or null (not encoded yet). No reference is taken.
  frame* encoded(encoding_slot slot) const { return encoded_[slot]; }
  /// Caches `f` for `slot` (taking a reference); the slot must be empty.
  void set_encoded(encoding_slot slot, frame* f);

  void ref() { ++refs_; }
  void unref() {
    if (--refs_ == 0) {
      destroy();
    }
  }

 private:
  message(std::string_view tag, uint64_t seq, int64_t ts_ms, std::string_view data,
          std::string_view meta);
  ~message() = default;
  void destroy();
  const char* chars() const { return reinterpret_cast<const char*>(this + 1); }

  uint32_t refs_ = 1;
  uint32_t data_size_;
  uint64_t seq_;
  int64_t ts_ms_;
  uint16_t tag_size_;
  uint16_t meta_size_;  // in what was padding
  frame* encoded_[max_encodings] = {};
};

/// An owning reference to a message (one count), for queues and containers.
class message_ref {
 public:
  message_ref() = default;
  /// Takes over the caller's reference.
  static message_ref adopt(message* m) { return message_ref(m); }
  /// Takes a new reference.
  static message_ref share(message* m) {
    m->ref();
    return message_ref(m);
  }
  message_ref(const message_ref& other) : m_(other.m_) {
    if (m_ != nullptr) {
      m_->ref();
    }
  }
  message_ref(message_ref&& other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
  message_ref& operator=(message_ref other) noexcept {
    std::swap(m_, other.m_);
    return *this;
  }
  ~message_ref() {
    if (m_ != nullptr) {
      m_->unref();
    }
  }
  message* get() const { return m_; }
  message* operator->() const { return m_; }
  message& operator*() const { return *m_; }
  explicit operator bool() const { return m_ != nullptr; }

 private:
  explicit message_ref(message* m) : m_(m) {}
  message* m_ = nullptr;
};

}  // namespace wsa
