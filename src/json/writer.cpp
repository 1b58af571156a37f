// Server frame writer: concatenation with a byte-class table for string escaping and a
// two-digits-at-a-time integer formatter. Plain functions: any thread.
#include "json/writer.h"

#include <array>
#include <cstring>

#include "util/hex.h"

namespace wsa {
namespace {

// Escaped length of each byte: 1 copied as is, 2 for \" and \\, 6 for \u00XX.
constexpr std::array<uint8_t, 256> make_escape_size() {
  std::array<uint8_t, 256> t{};
  for (std::size_t c = 0; c < 256; ++c) {
    t[c] = c < 0x20 ? 6 : (c == '"' || c == '\\') ? 2 : 1;
  }
  return t;
}
constexpr std::array<uint8_t, 256> escape_size = make_escape_size();

constexpr char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

std::size_t count_digits(uint64_t v) {
  std::size_t n = 1;
  while (v >= 10000) {
    v /= 10000;
    n += 4;
  }
  return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

// Writes the `digits` decimal digits of v at p; returns the end.
char* write_u64(char* p, uint64_t v, std::size_t digits) {
  char* end = p + digits;
  char* q = end;
  while (v >= 100) {
    const std::size_t pair = static_cast<std::size_t>(v % 100) * 2;
    v /= 100;
    *--q = digit_pairs[pair + 1];
    *--q = digit_pairs[pair];
  }
  if (v >= 10) {
    const std::size_t pair = static_cast<std::size_t>(v) * 2;
    *--q = digit_pairs[pair + 1];
    *--q = digit_pairs[pair];
  } else {
    *--q = static_cast<char>('0' + v);
  }
  return end;
}

void append_u64(std::string& out, uint64_t v) {
  char buf[20];
  const std::size_t n = count_digits(v);
  write_u64(buf, v, n);
  out.append(buf, n);
}

// Writes `s` escaped, with quotes, at p; returns the end. Runs of plain bytes (all of a
// tag, usually) are copied in one go.
char* write_json_string(char* p, std::string_view s) {
  *p++ = '"';
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    std::size_t plain = i;
    while (plain < n && escape_size[static_cast<unsigned char>(s[plain])] == 1) {
      ++plain;
    }
    std::memcpy(p, s.data() + i, plain - i);
    p += plain - i;
    if (plain == n) {
      break;
    }
    const auto c = static_cast<unsigned char>(s[plain]);
    if (escape_size[c] == 2) {
      *p++ = '\\';
      *p++ = static_cast<char>(c);
    } else {
      std::memcpy(p, "\\u00", 4);
      p[4] = hex_digits[c >> 4];
      p[5] = hex_digits[c & 0xf];
      p += 6;
    }
    i = plain + 1;
  }
  *p++ = '"';
  return p;
}

// `"id":<id>,` when there is an id.
void append_id(std::string& out, std::string_view id) {
  if (!id.empty()) {
    out.append("\"id\":");
    out.append(id);
    out.push_back(',');
  }
}

constexpr std::string_view msg_head = R"({"op":"msg","tag":)";
constexpr std::string_view msg_seq = R"(,"seq":)";
constexpr std::string_view msg_ts = R"(,"ts":)";
constexpr std::string_view msg_data = R"(,"data":)";

uint64_t ts_value(int64_t ts_ms) { return ts_ms < 0 ? 0 : static_cast<uint64_t>(ts_ms); }

// "seq":<seq>,"ts":<ts>[,"dup":true]: a publish's outcome, over WebSocket and over HTTP.
void append_publish_members(std::string& out, uint64_t seq, int64_t ts_ms, bool dup) {
  out.append(R"("seq":)");
  append_u64(out, seq);
  out.append(msg_ts);
  append_u64(out, ts_value(ts_ms));
  if (dup) {
    out.append(R"(,"dup":true)");
  }
}

}  // namespace

std::size_t json_string_size(std::string_view s) {
  std::size_t n = 2;
  for (const char ch : s) {
    n += escape_size[static_cast<unsigned char>(ch)];
  }
  return n;
}

void append_json_string(std::string& out, std::string_view s) {
  const std::size_t at = out.size();
  out.resize(at + json_string_size(s));
  write_json_string(out.data() + at, s);
}

void append_hello(std::string& out, std::string_view node, std::string_view conn,
                  std::string_view version, std::string_view features) {
  out.append(R"({"op":"hello","node":)");
  append_json_string(out, node);
  out.append(R"(,"conn":)");
  append_json_string(out, conn);
  out.append(R"(,"version":)");
  append_json_string(out, version);
  out.append(R"(,"features":)");
  out.append(features);
  out.push_back('}');
}

void append_ok(std::string& out, std::string_view id) {
  out.append(R"({"op":"ok")");
  if (!id.empty()) {
    out.append(R"(,"id":)");
    out.append(id);
  }
  out.push_back('}');
}

void append_ok_pub(std::string& out, std::string_view id, uint64_t seq, int64_t ts_ms,
                   bool dup) {
  out.append(R"({"op":"ok",)");
  append_id(out, id);
  append_publish_members(out, seq, ts_ms, dup);
  out.push_back('}');
}

void append_publish_result(std::string& out, uint64_t seq, int64_t ts_ms, bool dup) {
  out.push_back('{');
  append_publish_members(out, seq, ts_ms, dup);
  out.push_back('}');
}

void append_ok_sub(std::string& out, std::string_view id, std::span<const sub_ack_entry> tags) {
  out.append(R"({"op":"ok",)");
  append_id(out, id);
  out.append(R"("seq":{)");
  bool any_gap = false;
  bool first = true;
  for (const sub_ack_entry& entry : tags) {
    any_gap = any_gap || entry.gap;
    if (entry.only_gap) {
      continue;
    }
    if (!first) {
      out.push_back(',');
    }
    first = false;
    append_json_string(out, entry.tag);
    out.push_back(':');
    append_u64(out, entry.seq);
  }
  out.append(R"(},"epoch":{)");
  first = true;
  for (const sub_ack_entry& entry : tags) {
    if (entry.only_gap) {
      continue;
    }
    if (!first) {
      out.push_back(',');
    }
    first = false;
    append_json_string(out, entry.tag);
    out.push_back(':');
    append_json_string(out, entry.epoch);
  }
  out.push_back('}');
  if (any_gap) {
    out.append(R"(,"gaps":[)");
    first = true;
    for (const sub_ack_entry& entry : tags) {
      if (!entry.gap) {
        continue;
      }
      if (!first) {
        out.push_back(',');
      }
      first = false;
      append_json_string(out, entry.tag);
    }
    out.push_back(']');
  }
  out.push_back('}');
}

void append_err(std::string& out, std::string_view id, std::string_view code,
                std::string_view reason) {
  out.append(R"({"op":"err",)");
  append_id(out, id);
  out.append(R"("code":)");
  append_json_string(out, code);
  out.append(R"(,"reason":)");
  append_json_string(out, reason);
  out.push_back('}');
}

void append_reconnect(std::string& out, uint32_t within_ms) {
  out.append(R"({"op":"reconnect","within_ms":)");
  append_u64(out, within_ms);
  out.push_back('}');
}

void append_gap(std::string& out, std::string_view key) {
  out.append(R"({"op":"gap","tags":[)");
  append_json_string(out, key);
  out.append("]}");
}

void append_presence_event(std::string& out, bool joined, std::string_view tag,
                           std::string_view who) {
  out.append(joined ? R"({"op":"join","tag":)" : R"({"op":"leave","tag":)");
  append_json_string(out, tag);
  out.append(R"(,"who":)");
  out.append(who);
  out.push_back('}');
}

void append_ok_presence(std::string& out, std::string_view id, uint64_t count,
                        std::string_view who_array) {
  out.append(R"({"op":"ok",)");
  append_id(out, id);
  out.append(R"("count":)");
  append_u64(out, count);
  out.append(R"(,"who":)");
  out.append(who_array);
  out.push_back('}');
}

std::size_t msg_json_size(std::string_view tag, uint64_t seq, int64_t ts_ms,
                          std::string_view data) {
  return msg_head.size() + json_string_size(tag) + msg_seq.size() + count_digits(seq) +
         msg_ts.size() + count_digits(ts_value(ts_ms)) + msg_data.size() + data.size() + 1;
}

char* write_msg_json(char* out, std::string_view tag, uint64_t seq, int64_t ts_ms,
                     std::string_view data) {
  std::memcpy(out, msg_head.data(), msg_head.size());
  out = write_json_string(out + msg_head.size(), tag);
  std::memcpy(out, msg_seq.data(), msg_seq.size());
  out = write_u64(out + msg_seq.size(), seq, count_digits(seq));
  const uint64_t ts = ts_value(ts_ms);
  std::memcpy(out, msg_ts.data(), msg_ts.size());
  out = write_u64(out + msg_ts.size(), ts, count_digits(ts));
  std::memcpy(out, msg_data.data(), msg_data.size());
  out += msg_data.size();
  std::memcpy(out, data.data(), data.size());
  out += data.size();
  *out++ = '}';
  return out;
}

}  // namespace wsa
