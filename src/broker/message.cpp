#include "broker/message.h"

#include <cstring>
#include <new>

#include "util/check.h"

namespace wsa {

// Messages are kept by the million in histories: meta's size took padding; the seventh
// encoding slot (MQTT 5.0's body with forwarded properties) is the only growth (80 -> 88).
static_assert(sizeof(message) == 88);

message::message(std::string_view tag, uint64_t seq, int64_t ts_ms, std::string_view data,
                 std::string_view meta)
    : data_size_(static_cast<uint32_t>(data.size())),
      seq_(seq),
      ts_ms_(ts_ms),
      tag_size_(static_cast<uint16_t>(tag.size())),
      meta_size_(static_cast<uint16_t>(meta.size())) {}

message* message::make(std::string_view tag, uint64_t seq, int64_t ts_ms, std::string_view data,
                       std::string_view meta) {
  WSA_ASSERT(tag.size() <= UINT16_MAX && data.size() <= UINT32_MAX &&
             meta.size() <= max_meta_bytes);
  void* memory = ::operator new(sizeof(message) + tag.size() + data.size() + meta.size());
  auto* m = new (memory) message(tag, seq, ts_ms, data, meta);
  char* chars = reinterpret_cast<char*>(m + 1);
  std::memcpy(chars, tag.data(), tag.size());
  if (!data.empty()) {
    std::memcpy(chars + tag.size(), data.data(), data.size());
  }
  if (!meta.empty()) [[unlikely]] {
    std::memcpy(chars + tag.size() + data.size(), meta.data(), meta.size());
  }
  return m;
}

std::size_t message::memory_bytes() const {
  std::size_t bytes = sizeof(message) + tag_size_ + data_size_ + meta_size_;
  for (const frame* f : encoded_) {
    if (f != nullptr) {
      bytes += sizeof(frame) + f->size();
    }
  }
  return bytes;
}

void message::set_encoded(encoding_slot slot, frame* f) {
  WSA_ASSERT(slot < max_encodings && encoded_[slot] == nullptr);
  f->ref();
  encoded_[slot] = f;
}

void message::destroy() {
  for (frame* f : encoded_) {
    if (f != nullptr) {
      f->unref();
    }
  }
  this->~message();
  ::operator delete(this);
}

}  // namespace wsa
