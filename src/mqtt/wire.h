// MQTT's data representations (MQTT 5.0 section 1.5, 3.1.1 section 1.5): big-endian
// integers, Variable Byte Integers, length-prefixed binary data and UTF-8 strings; a bounds-
// checked reader over one packet's bytes and writers into caller memory. Header-only so that
// the decoder and encoder inline them. Pure: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "util/utf8.h"

namespace wsa::mqtt {

/// Largest Variable Byte Integer (4 bytes): also the largest remaining length.
inline constexpr uint32_t max_varint = 268'435'455;

enum class varint_status : uint8_t { complete, need_more, malformed };

/// Reads a Variable Byte Integer from p[0..n). Malformed: a fifth byte would be needed, or
/// the encoding is longer than the minimum (MQTT 5.0 [MQTT-1.5.5-1]).
inline varint_status read_varint(const unsigned char* p, std::size_t n, uint32_t& value,
                                 std::size_t& used) {
  uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i == n) {
      return varint_status::need_more;
    }
    v |= uint32_t{p[i] & 0x7fu} << (7 * i);
    if ((p[i] & 0x80) == 0) {
      if (i > 0 && p[i] == 0) {
        return varint_status::malformed;  // e.g. 0x80 0x00: a zero continuation adds nothing
      }
      value = v;
      used = i + 1;
      return varint_status::complete;
    }
  }
  return varint_status::malformed;
}

inline constexpr std::size_t varint_size(uint32_t v) {
  return v < 128 ? 1 : v < 16'384 ? 2 : v < 2'097'152 ? 3 : 4;
}

/// Writes `v` (<= max_varint) as a Variable Byte Integer; returns the end.
inline char* write_varint(char* out, uint32_t v) {
  do {
    auto byte = static_cast<unsigned char>(v & 0x7f);
    v >>= 7;
    if (v != 0) {
      byte |= 0x80;
    }
    *out++ = static_cast<char>(byte);
  } while (v != 0);
  return out;
}

inline char* write_u8(char* out, uint8_t v) {
  *out = static_cast<char>(v);
  return out + 1;
}

inline char* write_u16(char* out, uint16_t v) {
  out[0] = static_cast<char>(v >> 8);
  out[1] = static_cast<char>(v);
  return out + 2;
}

inline char* write_u32(char* out, uint32_t v) {
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
  return out + 4;
}

inline char* write_bytes(char* out, std::string_view s) {
  if (!s.empty()) {
    std::memcpy(out, s.data(), s.size());
  }
  return out + s.size();
}

/// A two-byte length then the bytes (UTF-8 strings and binary data; <= 65535 bytes).
inline char* write_string(char* out, std::string_view s) {
  return write_bytes(write_u16(out, static_cast<uint16_t>(s.size())), s);
}

/// An MQTT UTF-8 Encoded String's content must be well-formed UTF-8 without U+0000
/// ([MQTT-1.5.4-1], [MQTT-1.5.4-2]; 3.1.1 [MQTT-1.5.3-1], [MQTT-1.5.3-2]).
inline bool is_mqtt_utf8(std::string_view s) {
  return s.find('\0') == std::string_view::npos && valid_utf8(s);
}

/// True when a topic holds a wildcard character ('+' or '#'), which a topic name must not
/// ([MQTT-3.3.2-2]). A plain loop: find_first_of would call memchr once per byte.
inline bool has_wildcard(std::string_view topic) {
  for (const char c : topic) {
    if (c == '+' || c == '#') {
      return true;
    }
  }
  return false;
}

/// Sequential, bounds-checked reading of one packet. Every read returns false, and changes
/// nothing, when the packet ends first or the value is invalid.
class reader {
 public:
  explicit reader(std::string_view bytes)
      : p_(reinterpret_cast<const unsigned char*>(bytes.data())), left_(bytes.size()) {}

  std::size_t left() const { return left_; }
  bool done() const { return left_ == 0; }
  std::string_view rest() const { return {reinterpret_cast<const char*>(p_), left_}; }

  bool u8(uint8_t& v) {
    if (left_ < 1) {
      return false;
    }
    v = p_[0];
    skip(1);
    return true;
  }

  bool u16(uint16_t& v) {
    if (left_ < 2) {
      return false;
    }
    v = static_cast<uint16_t>(p_[0] << 8 | p_[1]);
    skip(2);
    return true;
  }

  bool u32(uint32_t& v) {
    if (left_ < 4) {
      return false;
    }
    v = uint32_t{p_[0]} << 24 | uint32_t{p_[1]} << 16 | uint32_t{p_[2]} << 8 | p_[3];
    skip(4);
    return true;
  }

  bool varint(uint32_t& v) {
    std::size_t used = 0;
    if (read_varint(p_, left_, v, used) != varint_status::complete) {
      return false;
    }
    skip(used);
    return true;
  }

  bool bytes(std::size_t n, std::string_view& v) {
    if (left_ < n) {
      return false;
    }
    v = {reinterpret_cast<const char*>(p_), n};
    skip(n);
    return true;
  }

  /// Binary Data: a two-byte length and that many bytes.
  bool binary(std::string_view& v) {
    if (left_ < 2) {
      return false;
    }
    const std::size_t n = std::size_t{p_[0]} << 8 | p_[1];
    if (left_ - 2 < n) {
      return false;
    }
    v = {reinterpret_cast<const char*>(p_ + 2), n};
    skip(2 + n);
    return true;
  }

  /// UTF-8 Encoded String: binary data whose content passes is_mqtt_utf8.
  bool utf8(std::string_view& v) {
    std::string_view s;
    reader saved = *this;
    if (!binary(s)) {
      return false;
    }
    if (!is_mqtt_utf8(s)) {
      *this = saved;
      return false;
    }
    v = s;
    return true;
  }

 private:
  void skip(std::size_t n) {
    p_ += n;
    left_ -= n;
  }

  const unsigned char* p_;
  std::size_t left_;
};

}  // namespace wsa::mqtt
