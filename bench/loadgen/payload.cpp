// Message body writer and hand-written field readers (see payload.h).
#include "payload.h"

#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

namespace {

uint64_t load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// How many of the 8 characters in v (the first in the low byte) are ASCII digits before the
// first that is not. A byte is a digit when its high nibble is 3 both as it is and after
// adding 6 (0x30-0x39 only). Adding 6 to a byte >= 0xfa carries into the next byte, which
// can only disturb bytes after the first non-digit.
unsigned leading_digits(uint64_t v) {
  constexpr uint64_t high = 0xf0f0f0f0f0f0f0f0ull;
  uint64_t other = ((v & high) | (((v + 0x0606060606060606ull) & high) >> 4)) ^
                   0x3333333333333333ull;
  return other == 0 ? 8 : static_cast<unsigned>(__builtin_ctzll(other)) >> 3;
}

// Value of the first k (1..8) digits of v. Subtracting '0' borrows only from bytes after the
// digits, which the shift drops; it also puts leading zeros in front of fewer than 8 digits.
uint64_t digits_value(uint64_t v, unsigned k) {
  v = (v - 0x3030303030303030ull) << (8 * (8 - k));
  v = v * 10 + (v >> 8);  // byte pairs: 10 * first + second
  v = ((v & 0x000000ff000000ffull) * (100 + (1000000ull << 32)) +
       ((v >> 16) & 0x000000ff000000ffull) * (1 + (10000ull << 32))) >> 32;
  return v;
}

constexpr uint64_t pow10_of[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                  100000000};

// Digits at q, eight at a time; the general loop near the end of the buffer and past 16
// digits (stamps after ~115 days of uptime).
const char* read_u64(const char* q, const char* e, uint64_t& out) {
  if (e - q < 16) {
    return parse_digits(q, e, out);
  }
  uint64_t a = load8(q);
  unsigned ka = leading_digits(a);
  if (ka < 8) {
    if (ka == 0) {
      return nullptr;
    }
    out = digits_value(a, ka);
    return q + ka;
  }
  uint64_t b = load8(q + 8);
  unsigned kb = leading_digits(b);
  if (kb == 8) {
    return parse_digits(q, e, out);
  }
  out = digits_value(a, 8);
  if (kb > 0) {
    out = out * pow10_of[kb] + digits_value(b, kb);
  }
  return q + 8 + kb;
}

// Whole words compared, the last one overlapping; n >= 8. With SSE2 (every x86-64), 16 bytes
// per comparison.
bool same_bytes(const char* a, const char* b, std::size_t n) {
#ifdef __SSE2__
  if (n >= 16) {
    auto at = [](const char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); };
    __m128i eq = _mm_cmpeq_epi8(at(a + n - 16), at(b + n - 16));
    for (std::size_t i = 0; i + 16 < n; i += 16) {
      eq = _mm_and_si128(eq, _mm_cmpeq_epi8(at(a + i), at(b + i)));
    }
    return _mm_movemask_epi8(eq) == 0xffff;
  }
#endif
  uint64_t diff = 0;
  std::size_t i = 0;
  for (; i + 8 < n; i += 8) {
    diff |= load8(a + i) ^ load8(b + i);
  }
  return (diff | (load8(a + n - 8) ^ load8(b + n - 8))) == 0;
}

// Digits of a number we only step over (the envelope's seq), eight at a time.
const char* skip_digits(const char* q, const char* e) {
  const char* start = q;
  while (e - q >= 8) {
    unsigned k = leading_digits(load8(q));
    q += k;
    if (k < 8) {
      return q == start ? nullptr : q;
    }
  }
  while (q < e && static_cast<unsigned>(*q - '0') < 10u) {
    ++q;
  }
  return q == start ? nullptr : q;
}

// q points at the digits of "t" in our exact layout T,"i":I,"n":N: any digit counts, the
// stamp read eight digits at a time, the publisher and its seq by a plain loop.
bool read_stamp_fields_loop(const char* q, const char* e, stamp& out) {
  uint64_t t = 0;
  uint64_t i = 0;
  uint64_t seq = 0;
  q = read_u64(q, e, t);
  if (q == nullptr || e - q < 7 || std::memcmp(q, ",\"i\":", 5) != 0) {
    return false;
  }
  q += 5;
  if (static_cast<unsigned>(q[0] - '0') < 10u && q[1] == ',') {
    i = static_cast<uint64_t>(q[0] - '0');  // one publisher digit: the usual case
    ++q;
  } else {
    q = parse_digits(q, e, i);
  }
  if (q == nullptr || e - q < 5 || std::memcmp(q, ",\"n\":", 5) != 0) {
    return false;
  }
  q += 5;
  if (e - q >= 8) {
    // The seq's 1 to 7 digits in one word (8 or more: the loop).
    const uint64_t v = load8(q);
    const unsigned k = leading_digits(v);
    if (k == 0) {
      return false;
    }
    if (k < 8) {
      seq = digits_value(v, k);
    } else if (parse_digits(q, e, seq) == nullptr) {
      return false;
    }
  } else if (parse_digits(q, e, seq) == nullptr) {
    return false;
  }
  out.t = t;
  out.publisher = static_cast<uint32_t>(i);
  out.seq = static_cast<uint32_t>(seq);
  return true;
}

// Exactly 8 digits in v: digits_value without its alignment shift.
inline uint64_t eight_digits(uint64_t v) {
  v -= 0x3030303030303030ull;
  v = v * 10 + (v >> 8);
  return ((v & 0x000000ff000000ffull) * (100 + (1000000ull << 32)) +
          ((v >> 16) & 0x000000ff000000ffull) * (1 + (10000ull << 32))) >> 32;
}

// The same in whole words for the usual shape (20 fewer instructions a frame): a stamp of 9
// to 16 digits (CLOCK_MONOTONIC ns from 0.1 s to 115 days of uptime), one publisher digit,
// a seq of 1 to 7 digits, and room to read a word past it; anything else takes the loop.
bool read_stamp_fields(const char* q, const char* e, stamp& out) {
  constexpr uint64_t five_bytes = 0xffffffffffull;
  if (e - q >= 40) {
    const uint64_t a = load8(q);
    const uint64_t b = load8(q + 8);
    const unsigned kb = leading_digits(b);
    if (leading_digits(a) == 8 && kb - 1 < 8u) {
      const char* r = q + 8 + kb;
      // ,"i":D, then ,"n": and the seq's digits
      const uint64_t w = load8(r);
      const auto d = static_cast<unsigned>(r[5] - '0');
      const uint64_t v = load8(r + 11);
      const unsigned kn = leading_digits(v);
      if ((w & five_bytes) == (load8(",\"i\":000") & five_bytes) && d < 10u &&
          (load8(r + 6) & five_bytes) == (load8(",\"n\":000") & five_bytes) &&
          kn - 1 < 7u) {
        out.t = eight_digits(a) * pow10_of[kb] + digits_value(b, kb);
        out.publisher = d;
        out.seq = static_cast<uint32_t>(digits_value(v, kn));
        return true;
      }
    }
  }
  return read_stamp_fields_loop(q, e, out);
}

}  // namespace

std::string msg_prefix(std::string_view tag) {
  return "{\"op\":\"msg\",\"tag\":\"" + std::string(tag) + "\",\"seq\":";
}

bool read_msg_stamp(const char* p, std::size_t n, std::string_view prefix, stamp& out) {
  constexpr std::size_t data_len = 13;  // ,"data":{"t":
  if (prefix.size() < 8 || n < prefix.size() + 1 + data_len ||
      !same_bytes(p, prefix.data(), prefix.size())) {
    return false;
  }
  const char* e = p + n;
  const char* q = skip_digits(p + prefix.size(), e);
  constexpr std::size_t ts_len = 6;  // ,"ts": (protocol 1.1: every msg has one)
  if (q != nullptr && e - q > static_cast<std::ptrdiff_t>(ts_len) &&
      std::memcmp(q, ",\"ts\":", ts_len) == 0) {
    q = skip_digits(q + ts_len, e);
  }
  if (q == nullptr || e - q < static_cast<std::ptrdiff_t>(data_len) ||
      std::memcmp(q, ",\"data\":{\"t\":", data_len) != 0) {
    return false;
  }
  return read_stamp_fields(q + data_len, e, out);
}

bool read_msg_tail_stamp(const char* p, std::size_t n, std::size_t data_len, stamp& out) {
  constexpr std::size_t head_len = 8;  // {"op":"m
  constexpr std::size_t key_len = 8;   // ,"data":
  if (data_len < 16 || n < head_len + key_len + data_len + 1) {
    return false;
  }
  const char* d = p + n - 1 - data_len;
  constexpr uint64_t five_bytes = 0xffffffffffull;
  if (load8(p) != load8("{\"op\":\"m") || load8(d - key_len) != load8(",\"data\":") ||
      (load8(d) & five_bytes) != (load8("{\"t\":000") & five_bytes) || p[n - 1] != '}' ||
      d[data_len - 1] != '}') {
    return false;
  }
  return read_stamp_fields(d + 5, d + data_len - 1, out);
}

bool read_data_stamp(const char* p, std::size_t n, stamp& out) {
  return n > 5 && std::memcmp(p, "{\"t\":", 5) == 0 && read_stamp_fields(p + 5, p + n, out);
}

bool parse_msg_stamp(const char* p, std::size_t n, std::string_view prefix, stamp& out) {
  return read_msg_stamp(p, n, prefix, out) || parse_stamp(p, n, out);
}

bool parse_data_stamp(const char* p, std::size_t n, stamp& out) {
  return read_data_stamp(p, n, out) || parse_stamp(p, n, out);
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
