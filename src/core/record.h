// Typed records for the mailboxes between shards (core/mailbox.h). A record type is a
// struct that lists its fields once, in one function used for sizing, writing and reading
// alike, so the bytes a record takes cannot disagree with what is written or read:
//
//   struct interest_record {
//     static constexpr uint32_t type = 7;
//     bool added = false;
//     std::string_view key;
//     template <class Self, class Field>
//     static void fields(Self& self, Field&& field) { field(self.added); field(self.key); }
//   };
//
// Fields are trivially copyable values (integers, enums, small structs: copied with memcpy,
// no alignment assumed) and byte strings (std::string_view: a 32-bit length, then the bytes;
// a view read back points into the record, valid while the record is). Records carry copies,
// never pointers: memory stays with the shard that allocated it (docs/style.md guideline 2).
//
// The reader checks every length against the record's end and that nothing is left over:
// a record that does not parse is refused (false), never read past. Records only ever come
// from this process's own shards, so a refusal means a bug; the caller counts it.
// Header only, no state: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>

namespace wsa {

namespace record_detail {

template <class T>
inline constexpr bool is_bytes = std::is_same_v<std::remove_cv_t<T>, std::string_view>;

template <class T>
inline constexpr bool is_value = std::is_trivially_copyable_v<T> && !is_bytes<T> &&
                                 !std::is_pointer_v<T>;

struct sizer {
  std::size_t size = 0;
  template <class T>
  void operator()(const T& value) {
    if constexpr (is_bytes<T>) {
      size += sizeof(uint32_t) + value.size();
    } else {
      static_assert(is_value<T>, "a record field is a plain value or a std::string_view");
      size += sizeof(T);
    }
  }
};

struct writer {
  char* at;
  template <class T>
  void operator()(const T& value) {
    if constexpr (is_bytes<T>) {
      const auto length = static_cast<uint32_t>(value.size());
      std::memcpy(at, &length, sizeof length);
      at += sizeof length;
      if (length != 0) {
        std::memcpy(at, value.data(), length);
      }
      at += length;
    } else {
      std::memcpy(at, &value, sizeof value);
      at += sizeof value;
    }
  }
};

struct reader {
  const char* at;
  const char* end;
  bool ok = true;
  template <class T>
  void operator()(T& value) {
    if (!ok) {
      return;
    }
    if constexpr (is_bytes<T>) {
      uint32_t length = 0;
      if (static_cast<std::size_t>(end - at) < sizeof length) {
        ok = false;
        return;
      }
      std::memcpy(&length, at, sizeof length);
      at += sizeof length;
      if (static_cast<std::size_t>(end - at) < length) {
        ok = false;
        return;
      }
      value = std::string_view(at, length);
      at += length;
    } else {
      if (static_cast<std::size_t>(end - at) < sizeof value) {
        ok = false;
        return;
      }
      std::memcpy(&value, at, sizeof value);
      at += sizeof value;
    }
  }
};

}  // namespace record_detail

/// Bytes `r` takes once written, computed from its fields.
template <class R>
std::size_t record_size(const R& r) {
  record_detail::sizer s;
  R::fields(r, s);
  return s.size;
}

/// Writes `r` at `out`, which has room for record_size(r) bytes; returns the end.
template <class R>
char* write_record(char* out, const R& r) {
  record_detail::writer w{out};
  R::fields(r, w);
  return w.at;
}

/// Reads a record of type R from exactly `bytes`. False when they are too short for its
/// fields or longer than them; `r` is then unspecified.
template <class R>
bool read_record(std::string_view bytes, R& r) {
  record_detail::reader in{bytes.data(), bytes.data() + bytes.size()};
  R::fields(r, in);
  return in.ok && in.at == in.end;
}

/// Sends `r` through `port`, anything with `char* begin_record(unsigned to, uint32_t type,
/// std::size_t size)` and `void end_record(unsigned to)` (the mailboxes of a shard, or a
/// test's fake): the record's size is computed, it is written in place, and closed.
template <class Port, class R>
void post_record(Port& port, unsigned to, const R& r) {
  const std::size_t size = record_size(r);
  write_record(port.begin_record(to, R::type, size), r);
  port.end_record(to);
}

}  // namespace wsa
