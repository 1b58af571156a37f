// Message body writer and hand-written field readers (see payload.h).
#include "payload.h"

#include <cstring>

namespace wsa::loadgen {

namespace {

const char* skip_ws(const char* q, const char* e) {
  while (q < e && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) {
    ++q;
  }
  return q;
}

// Points after `"key"  :  ` or returns nullptr.
const char* find_value(const char* p, const char* e, std::string_view quoted_key) {
  const char* q = p;
  while (q < e) {
    const void* hit = memmem(q, static_cast<std::size_t>(e - q), quoted_key.data(),
                             quoted_key.size());
    if (hit == nullptr) {
      return nullptr;
    }
    const char* after = static_cast<const char*>(hit) + quoted_key.size();
    const char* v = skip_ws(after, e);
    if (v < e && *v == ':') {
      return skip_ws(v + 1, e);
    }
    q = after;
  }
  return nullptr;
}

const char* parse_digits(const char* q, const char* e, uint64_t& out) {
  uint64_t v = 0;
  const char* start = q;
  while (q < e && static_cast<unsigned>(*q - '0') < 10u) {
    v = v * 10 + static_cast<uint64_t>(*q - '0');
    ++q;
  }
  if (q == start) {
    return nullptr;
  }
  out = v;
  return q;
}

// Reads `,"k":<digits>` quickly when the bytes are exactly ours, else searches for the key.
const char* next_field(const char* q, const char* e, const char (&fast)[6],
                       std::string_view quoted_key, uint64_t& out) {
  if (e - q >= 5 && std::memcmp(q, fast, 5) == 0) {
    return parse_digits(skip_ws(q + 5, e), e, out);
  }
  const char* v = find_value(q, e, quoted_key);
  return v == nullptr ? nullptr : parse_digits(v, e, out);
}

}  // namespace

std::size_t digits_u64(uint64_t v) {
  std::size_t d = 1;
  while (v >= 10) {
    v /= 10;
    ++d;
  }
  return d;
}

char* write_u64(char* out, uint64_t v) {
  char tmp[20];
  std::size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = tmp[n - 1 - i];
  }
  return out + n;
}

std::size_t data_size(const stamp& s, std::size_t requested) {
  std::size_t base = 23 + digits_u64(s.t) + digits_u64(s.publisher) + digits_u64(s.seq);
  return requested > base ? requested : base;
}

char* write_data(char* out, const stamp& s, std::size_t requested) {
  std::size_t total = data_size(s, requested);
  char* start = out;
  std::memcpy(out, "{\"t\":", 5);
  out = write_u64(out + 5, s.t);
  std::memcpy(out, ",\"i\":", 5);
  out = write_u64(out + 5, s.publisher);
  std::memcpy(out, ",\"n\":", 5);
  out = write_u64(out + 5, s.seq);
  std::memcpy(out, ",\"p\":\"", 6);
  out += 6;
  std::size_t pad = total - static_cast<std::size_t>(out - start) - 2;
  std::memset(out, 'x', pad);
  out += pad;
  out[0] = '"';
  out[1] = '}';
  return out + 2;
}

namespace {

// q points at the digits of "t".
bool parse_stamp_fields(const char* q, const char* e, stamp& out) {
  uint64_t t = 0;
  uint64_t i = 0;
  uint64_t seq = 0;
  q = parse_digits(q, e, t);
  if (q == nullptr) {
    return false;
  }
  q = next_field(q, e, ",\"i\":", "\"i\"", i);
  if (q == nullptr) {
    return false;
  }
  q = next_field(q, e, ",\"n\":", "\"n\"", seq);
  if (q == nullptr) {
    return false;
  }
  out.t = t;
  out.publisher = static_cast<uint32_t>(i);
  out.seq = static_cast<uint32_t>(seq);
  return true;
}

}  // namespace

bool parse_stamp(const char* p, std::size_t n, stamp& out) {
  const char* e = p + n;
  const char* q;
  const void* hit = memmem(p, n, "{\"t\":", 5);
  if (hit != nullptr) {
    q = skip_ws(static_cast<const char*>(hit) + 5, e);
  } else {
    q = find_value(p, e, "\"t\"");
    if (q == nullptr) {
      return false;
    }
  }
  return parse_stamp_fields(q, e, out);
}

bool parse_msg_stamp(const char* p, std::size_t n, std::string_view tag, stamp& out) {
  constexpr std::string_view head = "{\"op\":\"msg\",\"tag\":\"";
  constexpr std::string_view seq = "\",\"seq\":";
  constexpr std::string_view data = ",\"data\":{\"t\":";
  const char* e = p + n;
  std::size_t fixed = head.size() + tag.size() + seq.size() + 1 + data.size();
  if (n > fixed && std::memcmp(p, head.data(), head.size()) == 0 &&
      std::memcmp(p + head.size(), tag.data(), tag.size()) == 0 &&
      std::memcmp(p + head.size() + tag.size(), seq.data(), seq.size()) == 0) {
    const char* q = p + head.size() + tag.size() + seq.size();
    while (q < e && static_cast<unsigned>(*q - '0') < 10u) {
      ++q;
    }
    if (e - q > static_cast<std::ptrdiff_t>(data.size()) &&
        std::memcmp(q, data.data(), data.size()) == 0) {
      return parse_stamp_fields(q + data.size(), e, out);
    }
  }
  return parse_stamp(p, n, out);
}

std::string_view json_op(const char* p, std::size_t n) {
  const char* e = p + n;
  const char* v;
  if (n >= 7 && std::memcmp(p, "{\"op\":\"", 7) == 0) {
    v = p + 6;
  } else {
    v = find_value(p, e, "\"op\"");
    if (v == nullptr) {
      return {};
    }
  }
  if (v >= e || *v != '"') {
    return {};
  }
  ++v;
  const void* end = std::memchr(v, '"', static_cast<std::size_t>(e - v));
  if (end == nullptr) {
    return {};
  }
  return {v, static_cast<std::size_t>(static_cast<const char*>(end) - v)};
}

bool json_u64(const char* p, std::size_t n, std::string_view quoted_key, uint64_t& out) {
  const char* e = p + n;
  const char* v = find_value(p, e, quoted_key);
  if (v == nullptr) {
    return false;
  }
  if (v < e && *v == '{') {
    v = skip_ws(v + 1, e);
    if (v == e || *v != '"') {
      return false;  // empty object
    }
    const void* close = std::memchr(v + 1, '"', static_cast<std::size_t>(e - v - 1));
    if (close == nullptr) {
      return false;
    }
    v = skip_ws(static_cast<const char*>(close) + 1, e);
    if (v == e || *v != ':') {
      return false;
    }
    v = skip_ws(v + 1, e);
  }
  return parse_digits(v, e, out) != nullptr;
}

}  // namespace wsa::loadgen
