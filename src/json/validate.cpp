// A JSON validator as a loop over a small state machine with an explicit container stack
// (a bit per level: object or array). See validate.h.
#include "json/validate.h"

#include <cstdint>

#include "util/utf8.h"

namespace wsa {
namespace {

class scanner {
 public:
  explicit scanner(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  bool at_end() const { return p_ == end_; }
  char peek() const { return p_ == end_ ? '\0' : *p_; }
  void advance() { ++p_; }

  void whitespace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) {
      ++p_;
    }
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  bool number() {
    if (peek() == '-') {
      advance();
    }
    if (peek() == '0') {
      advance();
    } else if (!digits()) {
      return false;
    }
    if (peek() == '.') {
      advance();
      if (!digits()) {
        return false;
      }
    }
    if (peek() == 'e' || peek() == 'E') {
      advance();
      if (peek() == '+' || peek() == '-') {
        advance();
      }
      if (!digits()) {
        return false;
      }
    }
    return true;
  }

  // A string from its opening quote. The input's UTF-8 was checked as a whole already.
  bool string() {
    advance();  // '"'
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_++);
      if (c == '"') {
        return true;
      }
      if (c < 0x20) {
        return false;
      }
      if (c == '\\' && !escape()) {
        return false;
      }
    }
    return false;
  }

 private:
  bool digits() {
    const char* start = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
      ++p_;
    }
    return p_ != start;
  }

  bool hex4(uint32_t& v) {
    if (end_ - p_ < 4) {
      return false;
    }
    v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
        v |= static_cast<uint32_t>((c | 0x20) - 'a' + 10);
      } else {
        return false;
      }
    }
    return true;
  }

  // After a backslash: one escape; a \u high surrogate must be followed by a \u low one.
  bool escape() {
    if (p_ == end_) {
      return false;
    }
    switch (*p_++) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        return true;
      case 'u': {
        uint32_t v = 0;
        if (!hex4(v)) {
          return false;
        }
        if (v >= 0xdc00 && v <= 0xdfff) {
          return false;  // a low surrogate alone
        }
        if (v >= 0xd800 && v <= 0xdbff) {
          uint32_t low = 0;
          return literal("\\u") && hex4(low) && low >= 0xdc00 && low <= 0xdfff;
        }
        return true;
      }
      default:
        return false;
    }
  }

  const char* p_;
  const char* end_;
};

}  // namespace

bool is_valid_json(std::string_view text, int max_depth) {
  if (!valid_utf8(text)) {
    return false;
  }
  scanner s(text);
  uint64_t objects = 0;  // bit d set: the container at depth d is an object
  int depth = 0;
  enum class state { value, key, after_value } st = state::value;
  for (;;) {
    s.whitespace();
    switch (st) {
      case state::value:
        switch (s.peek()) {
          case '{':
          case '[': {
            if (depth >= max_depth || depth >= 64) {
              return false;
            }
            const bool object = s.peek() == '{';
            s.advance();
            objects = (objects & ~(uint64_t{1} << depth)) | (uint64_t{object} << depth);
            ++depth;
            s.whitespace();
            if (s.peek() == (object ? '}' : ']')) {
              s.advance();
              --depth;
              st = state::after_value;
            } else {
              st = object ? state::key : state::value;
            }
            continue;
          }
          case '"':
            if (!s.string()) {
              return false;
            }
            break;
          case 't':
            if (!s.literal("true")) {
              return false;
            }
            break;
          case 'f':
            if (!s.literal("false")) {
              return false;
            }
            break;
          case 'n':
            if (!s.literal("null")) {
              return false;
            }
            break;
          default:
            if (!s.number()) {
              return false;
            }
            break;
        }
        st = state::after_value;
        continue;
      case state::key:
        if (s.peek() != '"' || !s.string()) {
          return false;
        }
        s.whitespace();
        if (s.peek() != ':') {
          return false;
        }
        s.advance();
        st = state::value;
        continue;
      case state::after_value: {
        if (depth == 0) {
          return s.at_end();
        }
        const bool object = (objects >> (depth - 1)) & 1;
        if (s.peek() == ',') {
          s.advance();
          st = object ? state::key : state::value;
        } else if (s.peek() == (object ? '}' : ']')) {
          s.advance();
          --depth;
        } else {
          return false;
        }
        continue;
      }
    }
  }
}

}  // namespace wsa
