// Bytes for the wire in one reference-counted buffer: a WebSocket frame, an HTTP response,
// later an MQTT packet. A published message is encoded into one frame per transport, and
// that frame is queued to any number of connections by reference (docs/style.md
// guideline 4). The count is not atomic: a frame belongs to the shard that made it and
// never crosses to another shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

#include "util/check.h"

namespace wsa {

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

  /// A frame holding a copy of `bytes`.
  static frame* make_raw(std::string_view bytes) {
    frame* f = allocate(bytes.size());
    if (!bytes.empty()) {
      std::memcpy(f->data(), bytes.data(), bytes.size());
    }
    return f;
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
