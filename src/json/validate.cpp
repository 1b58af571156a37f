// JSON validation as a loop over a small state machine with an explicit container stack (a
// bit per level: object or array), and the unescaping of string contents. See validate.h.
#include "json/validate.h"

#include <cstdint>

#include "util/hex.h"
#include "util/utf8.h"

namespace wsa {

int json_hex4(std::string_view s) {
  if (s.size() < 4) {
    return -1;
  }
  int v = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const int h = hex_value(s[i]);
    if (h < 0) {
      return -1;
    }
    v = v << 4 | h;
  }
  return v;
}

namespace {

// The four hex digits at s[at..at+4) of a \u escape.
bool read_hex4(std::string_view s, std::size_t at, uint32_t& v) {
  if (at + 4 > s.size()) {
    return false;
  }
  const int h = json_hex4(s.substr(at, 4));
  v = static_cast<uint32_t>(h);
  return h >= 0;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | cp >> 12);
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | cp >> 18);
    out += static_cast<char>(0x80 | (cp >> 12 & 0x3f));
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

bool unescape_json_string(std::string_view body, std::string& out) {
  out.clear();
  out.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == body.size()) {
      return false;  // only when the caller broke the valid-JSON contract
    }
    const char e = body[i];
    switch (e) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp = 0;
        if (!read_hex4(body, i + 1, cp)) {
          return false;
        }
        i += 4;
        if (cp >= 0xdc00 && cp <= 0xdfff) {
          return false;
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
          uint32_t low = 0;
          if (i + 2 >= body.size() || body[i + 1] != '\\' || body[i + 2] != 'u' ||
              !read_hex4(body, i + 3, low) || low < 0xdc00 || low > 0xdfff) {
            return false;
          }
          i += 6;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        append_utf8(out, cp);
        break;
      }
      default:
        out += e;
        break;  // '"', '\\', '/'
    }
  }
  return true;
}

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
    const int h = json_hex4(std::string_view(p_, static_cast<std::size_t>(end_ - p_)));
    if (h < 0) {
      return false;
    }
    p_ += 4;
    v = static_cast<uint32_t>(h);
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
