// Growable byte buffer without value-initialisation (std::vector<char> zeroes what it
// grows). Owned by one connection or one function; single-threaded. Memory is kept across
// clear() so that a busy connection reaches a steady state with no allocation; release()
// gives it back for connections that go idle.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace wsa::loadgen {

class byte_buffer {
 public:
  byte_buffer() = default;
  byte_buffer(const byte_buffer&) = delete;
  byte_buffer& operator=(const byte_buffer&) = delete;
  byte_buffer(byte_buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        cap_(std::exchange(o.cap_, 0)) {}
  byte_buffer& operator=(byte_buffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(cap_, o.cap_);
    return *this;
  }
  ~byte_buffer() { std::free(data_); }

  char* data() { return data_; }
  const char* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return cap_; }
  bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }

  void release() {
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
    cap_ = 0;
  }

  void reserve(std::size_t cap) {
    if (cap <= cap_) {
      return;
    }
    std::size_t next = cap_ < 256 ? 256 : cap_ * 2;
    if (next < cap) {
      next = cap;
    }
    void* p = std::realloc(data_, next);
    if (p == nullptr) {
      throw std::bad_alloc();  // setup-time only in practice; out of memory ends the run
    }
    data_ = static_cast<char*>(p);
    cap_ = next;
  }

  // Grows by n bytes and returns where they start; the pointer dies at the next growth.
  char* extend(std::size_t n) {
    reserve(size_ + n);
    char* p = data_ + size_;
    size_ += n;
    return p;
  }

  void append(const void* p, std::size_t n) {
    if (n != 0) {
      std::memcpy(extend(n), p, n);
    }
  }

  // Drops the written bytes after new_size (after extend() reserved too many).
  void resize_down(std::size_t new_size) { size_ = new_size; }

  void consume_front(std::size_t n) {
    if (n >= size_) {
      size_ = 0;
      return;
    }
    std::memmove(data_, data_ + n, size_ - n);
    size_ -= n;
  }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

}  // namespace wsa::loadgen
