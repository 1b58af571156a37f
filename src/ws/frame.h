// Server-to-client WebSocket frames (RFC 6455 section 5.2): unmasked, never fragmented.
// A `frame` is one complete frame (header + payload) in one reference-counted buffer, so a
// published message is encoded once and queued to any number of connections by reference.
// The count is not atomic: a frame belongs to the shard that made it and never crosses to
// another shard (other shards get their own copy through the mailbox).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

#include "util/check.h"

namespace wsa {

enum class ws_opcode : uint8_t { text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA };

/// Bytes of the header of an unmasked frame carrying `payload` bytes: 2, 4 or 10.
inline constexpr std::size_t frame_header_size(std::size_t payload) {
  return payload < 126 ? 2 : payload <= 0xffff ? 4 : 10;
}

/// Writes the header of a final, unmasked frame; returns the bytes written.
inline std::size_t write_frame_header(char* out, ws_opcode opcode, std::size_t payload) {
  auto* p = reinterpret_cast<unsigned char*>(out);
  p[0] = static_cast<unsigned char>(0x80 | static_cast<uint8_t>(opcode));
  if (payload < 126) {
    p[1] = static_cast<unsigned char>(payload);
    return 2;
  }
  if (payload <= 0xffff) {
    p[1] = 126;
    p[2] = static_cast<unsigned char>(payload >> 8);
    p[3] = static_cast<unsigned char>(payload);
    return 4;
  }
  p[1] = 127;
  for (int i = 0; i < 8; ++i) {
    p[2 + i] = static_cast<unsigned char>(uint64_t{payload} >> (56 - 8 * i));
  }
  return 10;
}

/// Frames alive on this thread and their bytes: a shard reports them as gauges, and the
/// abuse tests read them to see that nothing is leaked or held past its limits.
struct frame_census {
  int64_t frames = 0;
  int64_t bytes = 0;
};
inline thread_local frame_census frames_alive;

class frame {
 public:
  /// A frame with room for `size` bytes, refcount 1. Aborts when out of memory.
  static frame* allocate(std::size_t size) {
    void* memory = ::operator new(sizeof(frame) + size);
    ++frames_alive.frames;
    frames_alive.bytes += static_cast<int64_t>(size);
    return new (memory) frame(static_cast<uint32_t>(size));
  }

  /// A complete frame with this opcode and payload.
  static frame* make(ws_opcode opcode, std::string_view payload) {
    const std::size_t header = frame_header_size(payload.size());
    frame* f = allocate(header + payload.size());
    write_frame_header(f->data(), opcode, payload.size());
    if (!payload.empty()) {
      std::memcpy(f->data() + header, payload.data(), payload.size());
    }
    return f;
  }

  /// Raw bytes that are not a WebSocket frame (an HTTP response head, say).
  static frame* make_raw(std::string_view bytes) {
    frame* f = allocate(bytes.size());
    std::memcpy(f->data(), bytes.data(), bytes.size());
    return f;
  }

  /// A close frame with a status code and a short reason (at most 123 bytes are kept).
  static frame* make_close(uint16_t code, std::string_view reason) {
    char payload[125];
    payload[0] = static_cast<char>(code >> 8);
    payload[1] = static_cast<char>(code & 0xff);
    const std::size_t n = reason.size() < 123 ? reason.size() : 123;
    std::memcpy(payload + 2, reason.data(), n);
    return make(ws_opcode::close, std::string_view(payload, 2 + n));
  }

  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  uint32_t size() const { return size_; }
  std::string_view bytes() const { return {data(), size_}; }

  void ref() { ++refs_; }
  void unref() {
    WSA_ASSERT(refs_ > 0);
    if (--refs_ == 0) {
      --frames_alive.frames;
      frames_alive.bytes -= size_;
      this->~frame();
      ::operator delete(this);
    }
  }

 private:
  explicit frame(uint32_t size) : size_(size) {}
  uint32_t refs_ = 1;
  uint32_t size_;
};

/// Owning handle (one reference) for code outside the hot loops.
class frame_ref {
 public:
  frame_ref() = default;
  explicit frame_ref(frame* adopted) : f_(adopted) {}
  frame_ref(const frame_ref& other) : f_(other.f_) {
    if (f_) {
      f_->ref();
    }
  }
  frame_ref(frame_ref&& other) noexcept : f_(other.f_) { other.f_ = nullptr; }
  frame_ref& operator=(frame_ref other) noexcept {
    std::swap(f_, other.f_);
    return *this;
  }
  ~frame_ref() {
    if (f_) {
      f_->unref();
    }
  }
  frame* get() const { return f_; }
  frame* operator->() const { return f_; }
  explicit operator bool() const { return f_ != nullptr; }

 private:
  frame* f_ = nullptr;
};

}  // namespace wsa
