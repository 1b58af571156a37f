// Client frame parser: one pass of simdjson on-demand over the frame where it lies, dispatching
// on each key as it comes, so field order is free and nothing is looked up twice.
//
// simdjson gives the structure (stage 1 validates UTF-8, string termination and unescaped
// control characters for the whole frame; the iterators check commas, colons and brackets).
// Scalars are checked here from their raw tokens: numbers against the JSON grammar, atoms by
// spelling, strings by their quotes, and only strings holding a backslash are unescaped (into
// the parser's string buffer). So a value nobody reads is still validated, `data` is the
// client's exact bytes, and a frame without escapes costs no copy at all.
//
// Every token is bounded by the frame's end before use: on an unbalanced frame on-demand can
// step onto its end-of-input sentinels, whose bytes are the caller's (arbitrary) padding.
//
// Owned by one shard and used by its thread only.
#include "json/command.h"

#include <utility>

#include <simdjson.h>

#include "util/check.h"

namespace wsa {
namespace {

namespace od = simdjson::ondemand;

// What became of one step of the parse.
enum class step : uint8_t {
  ok,
  refused,  // valid so far, but against the protocol: keep reading, only to find the id
  broken,   // invalid JSON (or an unusable iterator): stop at once
};

// The known fields, one bit each, to refuse duplicates.
constexpr uint32_t bit_op = 1u << 0;
constexpr uint32_t bit_id = 1u << 1;
constexpr uint32_t bit_token = 1u << 2;
constexpr uint32_t bit_tag = 1u << 3;
constexpr uint32_t bit_tags = 1u << 4;
constexpr uint32_t bit_since = 1u << 5;
constexpr uint32_t bit_data = 1u << 6;
constexpr uint32_t bit_idem = 1u << 7;
constexpr uint32_t bit_mode = 1u << 8;
constexpr uint32_t bit_interval = 1u << 9;
constexpr uint32_t bit_presence = 1u << 10;

// An idempotency key: 1 to max_idem_bytes printable ASCII characters (space included).
bool is_valid_idem(std::string_view key) {
  if (key.empty() || key.size() > max_idem_bytes) {
    return false;
  }
  for (const char c : key) {
    if (c < 0x20 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

const char* json_reason(simdjson::error_code e) {
  switch (e) {
    case simdjson::UTF8_ERROR:
      return "invalid JSON: bad UTF-8";
    case simdjson::UNESCAPED_CHARS:
      return "invalid JSON: unescaped control character in a string";
    case simdjson::UNCLOSED_STRING:
      return "invalid JSON: unclosed string";
    case simdjson::STRING_ERROR:
      return "invalid JSON: bad escape in a string";
    case simdjson::EMPTY:
      return "empty frame";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "invalid JSON: unbalanced brackets or trailing content";
    default:
      return "invalid JSON";
  }
}

// The JSON number grammar (RFC 8259 section 6), whole token; no range limit, since the value
// is passed on, not converted. `integer_only` refuses fraction and exponent.
bool is_json_number(std::string_view s, bool integer_only) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  if (i < n && s[i] == '-') {
    ++i;
  }
  if (i >= n) {
    return false;
  }
  if (s[i] == '0') {
    ++i;
  } else if (is_digit(s[i])) {
    while (i < n && is_digit(s[i])) {
      ++i;
    }
  } else {
    return false;
  }
  if (integer_only) {
    return i == n;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (i >= n || !is_digit(s[i])) {
      return false;
    }
    while (i < n && is_digit(s[i])) {
      ++i;
    }
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
      ++i;
    }
    if (i >= n || !is_digit(s[i])) {
      return false;
    }
    while (i < n && is_digit(s[i])) {
      ++i;
    }
  }
  return i == n;
}

// A non-negative integer that fits 64 bits, in plain JSON spelling (no sign, no leading zero).
bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 20 || (s[0] == '0' && s.size() > 1)) {
    return false;
  }
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) {
      return false;
    }
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return false;
    }
    v = v * 10 + d;
  }
  out = v;
  return true;
}

// State of one parse.
struct frame_ctx {
  command& out;
  const char* begin;
  const char* end;
  const char* reason = nullptr;  // the first failure
  uint32_t seen = 0;

  step fail(step s, const char* why) {
    if (reason == nullptr) {
      reason = why;
    }
    return s;
  }
  step broken(simdjson::error_code e) { return fail(step::broken, json_reason(e)); }
  step broken() { return fail(step::broken, "invalid JSON"); }

  // The value's token with trailing whitespace cut, or false when it lies outside the frame.
  // A token's first byte is never whitespace.
  bool token(od::value& v, std::string_view& tok) {
    const std::string_view raw = v.raw_json_token();
    const char* p = raw.data();
    if (p < begin || p >= end) {
      return false;
    }
    std::size_t n = raw.size();
    if (n > static_cast<std::size_t>(end - p)) {
      // A real token ends at the next structural, the root's `}` at the latest: only a
      // sentinel's length (computed from an index of 0) runs past the frame.
      return false;
    }
    while (n > 0 && is_json_space(p[n - 1])) {
      --n;
    }
    tok = std::string_view(p, n);
    return n > 0;
  }

  // A string value: a view into the frame when it has no escape, else unescaped by simdjson.
  // `refused` (nothing consumed) when the value is not a string.
  step string(od::value& v, std::string_view& s, const char* why_not) {
    std::string_view tok;
    if (!token(v, tok)) {
      return broken();
    }
    if (tok[0] != '"') {
      return fail(step::refused, why_not);
    }
    if (tok.size() < 2 || tok.back() != '"') {
      return broken();
    }
    if (tok.find('\\') == std::string_view::npos) {
      // Consumed all the same (no copy): on-demand would skip an unread string followed by
      // a colon as if it were a key, hiding the error.
      od::raw_json_string consumed;
      if (auto e = v.get_raw_json_string().get(consumed)) {
        return broken(e);
      }
      s = tok.substr(1, tok.size() - 2);
      return step::ok;
    }
    if (auto e = v.get_string().get(s)) {
      return broken(e);
    }
    return step::ok;
  }

  // A key: a view into the frame when it has no escape, else unescaped by simdjson.
  step key(od::field& f, std::string_view& k) {
    const char* p = f.key().raw();
    if (p <= begin || p > end) {
      return broken();
    }
    const char* q = p;
    bool escaped = false;
    while (q < end && *q != '"') {
      if (*q == '\\') {
        escaped = true;
        ++q;
      }
      ++q;
    }
    if (q >= end) {
      return broken();
    }
    if (!escaped) {
      k = std::string_view(p, static_cast<std::size_t>(q - p));
      return step::ok;
    }
    if (auto e = f.unescaped_key().get(k)) {
      return broken(e);
    }
    return step::ok;
  }

  // Validates any JSON value, `depth` levels below the field it belongs to. Containers are
  // walked to their end and strings consumed; numbers and atoms are left to the parent's
  // iterator, which skips them and checks what follows.
  step walk(od::value& v, int depth) {
    std::string_view tok;
    if (!token(v, tok)) {
      return broken();
    }
    switch (tok[0]) {
      case '{': {
        if (depth >= max_value_depth) {
          return fail(step::refused, "value nested too deeply");
        }
        od::object obj;
        if (auto e = v.get_object().get(obj)) {
          return broken(e);
        }
        for (auto field_result : obj) {
          if (auto e = field_result.error()) {
            return broken(e);
          }
          od::field& f = field_result.value_unsafe();
          std::string_view k;
          if (const step s = key(f, k); s != step::ok) {
            return s;
          }
          if (const step s = walk(f.value(), depth + 1); s != step::ok) {
            return s;
          }
        }
        return step::ok;
      }
      case '[': {
        if (depth >= max_value_depth) {
          return fail(step::refused, "value nested too deeply");
        }
        od::array arr;
        if (auto e = v.get_array().get(arr)) {
          return broken(e);
        }
        for (auto element_result : arr) {
          if (auto e = element_result.error()) {
            return broken(e);
          }
          od::value& element = element_result.value_unsafe();
          if (const step s = walk(element, depth + 1); s != step::ok) {
            return s;
          }
        }
        return step::ok;
      }
      case '"': {
        std::string_view ignored;
        return string(v, ignored, "");
      }
      case 't':
        return tok == "true" ? step::ok : broken();
      case 'f':
        return tok == "false" ? step::ok : broken();
      case 'n':
        return tok == "null" ? step::ok : broken();
      default:
        return is_json_number(tok, false) ? step::ok : broken();
    }
  }

  // `data`: validated, then taken as the exact bytes from its first to its last character.
  step data(od::value& v, std::string_view& raw) {
    std::string_view tok;
    if (!token(v, tok)) {
      return broken();
    }
    if (const step s = walk(v, 0); s != step::ok) {
      return s;
    }
    if (tok[0] != '{' && tok[0] != '[') {
      raw = tok;  // a scalar: its token is all of it
      return step::ok;
    }
    // A container was walked to its end: the iterator stands on the next structural
    // character (the root's `,` or `}`), so the value is everything before it.
    const char* next = nullptr;
    if (v.current_location().get(next) || next <= tok.data() || next > end) {
      return broken();
    }
    std::size_t n = static_cast<std::size_t>(next - tok.data());
    while (n > 0 && is_json_space(tok.data()[n - 1])) {
      --n;
    }
    raw = std::string_view(tok.data(), n);
    return step::ok;
  }

  step op(od::value& v) {
    std::string_view name;
    if (const step s = string(v, name, "op must be a string"); s != step::ok) {
      return s;
    }
    if (name == "pub") {
      out.op = op_kind::pub;
    } else if (name == "sub") {
      out.op = op_kind::sub;
    } else if (name == "unsub") {
      out.op = op_kind::unsub;
    } else if (name == "ping") {
      out.op = op_kind::ping;
    } else if (name == "auth") {
      out.op = op_kind::auth;
    } else if (name == "presence") {
      out.op = op_kind::presence;
    } else {
      return fail(step::refused, "unknown op");
    }
    return step::ok;
  }

  // `id`: an integer or a string, kept raw for the echo.
  step id(od::value& v) {
    constexpr const char* why = "id must be an integer or a string";
    std::string_view tok;
    if (!token(v, tok)) {
      return broken();
    }
    if (tok[0] == '"') {
      std::string_view ignored;
      if (const step s = string(v, ignored, why); s != step::ok) {
        return s;
      }
    } else if (tok[0] == '-' || is_digit(tok[0])) {
      if (!is_json_number(tok, true)) {
        return is_json_number(tok, false) ? fail(step::refused, why) : broken();
      }
    } else {
      return walk(v, 0) == step::broken ? step::broken : fail(step::refused, why);
    }
    out.id = tok;
    return step::ok;
  }

  step tags(od::value& v) {
    constexpr const char* why = "tags must be a non-empty array of strings";
    std::string_view tok;
    if (!token(v, tok)) {
      return broken();
    }
    if (tok[0] != '[') {
      return walk(v, 0) == step::broken ? step::broken : fail(step::refused, why);
    }
    od::array arr;
    if (auto e = v.get_array().get(arr)) {
      return broken(e);
    }
    for (auto element_result : arr) {
      if (auto e = element_result.error()) {
        return broken(e);
      }
      od::value& element = element_result.value_unsafe();
      std::string_view tag;
      if (const step s = string(element, tag, why); s != step::ok) {
        return s;
      }
      out.tags.push_back(tag);
    }
    if (out.tags.empty()) {
      return fail(step::refused, why);
    }
    return step::ok;
  }

  // One value of `since`: N, or {"seq":N,"epoch":"..."} (epoch optional, other keys
  // ignored); where `pattern_form` is allowed (a top-level value), also {"ts":T,"tags":{..}}
  // (both optional, at least one present; not mixed with seq/epoch).
  step since_value(od::value& v, since_entry& entry, bool pattern_form) {
    constexpr const char* why =
        "since values must be a non-negative integer or {\"seq\":N,\"epoch\":\"...\"}, or "
        "for a pattern {\"ts\":T,\"tags\":{tag:N or {\"seq\":N,\"epoch\":\"...\"}}}";
    std::string_view tok;
    if (!token(v, tok)) {
      return broken();
    }
    if (tok[0] != '{') {
      if (parse_u64(tok, entry.seq)) {
        return step::ok;
      }
      return walk(v, 0) == step::broken ? step::broken : fail(step::refused, why);
    }
    od::object obj;
    if (auto e = v.get_object().get(obj)) {
      return broken(e);
    }
    bool have_seq = false;
    bool have_epoch = false;
    bool have_tags = false;
    for (auto field_result : obj) {
      if (auto e = field_result.error()) {
        return broken(e);
      }
      od::field& f = field_result.value_unsafe();
      std::string_view k;
      if (const step s = key(f, k); s != step::ok) {
        return s;
      }
      if (k == "seq") {
        std::string_view seq;
        if (have_seq) {
          return fail(step::refused, "duplicate field");
        }
        have_seq = true;
        if (!token(f.value(), seq)) {
          return broken();
        }
        if (!parse_u64(seq, entry.seq)) {
          return walk(f.value(), 1) == step::broken ? step::broken : fail(step::refused, why);
        }
      } else if (k == "epoch") {
        if (have_epoch) {
          return fail(step::refused, "duplicate field");
        }
        have_epoch = true;
        if (const step s = string(f.value(), entry.epoch, why); s != step::ok) {
          return s;
        }
      } else if (pattern_form && k == "ts") {
        std::string_view ts;
        if (entry.has_ts) {
          return fail(step::refused, "duplicate field");
        }
        entry.has_ts = true;
        if (!token(f.value(), ts)) {
          return broken();
        }
        if (!parse_u64(ts, entry.ts_ms)) {
          return walk(f.value(), 1) == step::broken ? step::broken : fail(step::refused, why);
        }
      } else if (pattern_form && k == "tags") {
        if (have_tags) {
          return fail(step::refused, "duplicate field");
        }
        have_tags = true;
        if (const step s = since_known(f.value(), entry, why); s != step::ok) {
          return s;
        }
      } else if (const step s = walk(f.value(), 1); s != step::ok) {
        return s;
      }
    }
    entry.pattern_form = entry.has_ts || have_tags;
    if (entry.pattern_form) {
      return have_seq || have_epoch ? fail(step::refused, why) : step::ok;
    }
    return have_seq ? step::ok : fail(step::refused, why);
  }

  // An object of tag -> since value, each appended to `into` in order: `since` itself (where
  // a value may be a pattern form), or a pattern form's `tags` (where it may not).
  step since_object(od::value& v, std::vector<since_entry>& into, bool pattern_form,
                    const char* not_object) {
    std::string_view tok;
    if (!token(v, tok)) {
      return broken();
    }
    if (tok[0] != '{') {
      return walk(v, 1) == step::broken ? step::broken : fail(step::refused, not_object);
    }
    od::object obj;
    if (auto e = v.get_object().get(obj)) {
      return broken(e);
    }
    for (auto field_result : obj) {
      if (auto e = field_result.error()) {
        return broken(e);
      }
      od::field& f = field_result.value_unsafe();
      since_entry entry;
      if (const step s = key(f, entry.tag); s != step::ok) {
        return s;
      }
      if (const step s = since_value(f.value(), entry, pattern_form); s != step::ok) {
        return s;
      }
      into.push_back(entry);
    }
    return step::ok;
  }

  // The `tags` of since's pattern form: {tag: N or {"seq":N,"epoch":"..."}, ...}.
  step since_known(od::value& v, since_entry& entry, const char* why) {
    entry.known_begin = static_cast<uint32_t>(out.since_known.size());
    const step s = since_object(v, out.since_known, false, why);
    entry.known_count = static_cast<uint32_t>(out.since_known.size()) - entry.known_begin;
    return s;
  }

  step since(od::value& v) { return since_object(v, out.since, true, "since must be an object"); }

  // `interval_ms`: a non-negative integer (its range is checked with the mode).
  step interval(od::value& v) {
    std::string_view tok;
    if (!token(v, tok)) {
      return broken();
    }
    uint64_t n = 0;
    if (parse_u64(tok, n)) {
      out.interval_ms = n > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(n);
      return step::ok;
    }
    return walk(v, 0) == step::broken ? step::broken
                                      : fail(step::refused, "interval_ms must be an integer");
  }

  // `presence` on sub (1.1): true or false.
  step presence(od::value& v) {
    std::string_view tok;
    if (!token(v, tok)) {
      return broken();
    }
    if (tok[0] != 't' && tok[0] != 'f') {
      return walk(v, 0) == step::broken ? step::broken
                                        : fail(step::refused, "presence must be true or false");
    }
    bool b = false;
    if (auto e = v.get_bool().get(b)) {
      return broken(e);
    }
    out.presence = b;
    return step::ok;
  }

  // One member of the frame's object.
  step field(std::string_view k, od::value& v) {
    uint32_t bit = 0;
    switch (k.size()) {
      case 2:
        bit = k == "op" ? bit_op : k == "id" ? bit_id : 0;
        break;
      case 3:
        bit = k == "tag" ? bit_tag : 0;
        break;
      case 4:
        bit = k == "tags"   ? bit_tags
              : k == "data" ? bit_data
              : k == "idem" ? bit_idem
              : k == "mode" ? bit_mode
                            : 0;
        break;
      case 5:
        bit = k == "token" ? bit_token : k == "since" ? bit_since : 0;
        break;
      case 8:
        bit = k == "presence" ? bit_presence : 0;
        break;
      case 11:
        bit = k == "interval_ms" ? bit_interval : 0;
        break;
      default:
        break;
    }
    if (bit == 0) {
      return walk(v, 0);  // unknown: ignored, but it must be JSON
    }
    if ((seen & bit) != 0) {
      return fail(step::refused, "duplicate field");
    }
    seen |= bit;
    switch (bit) {
      case bit_op:
        return op(v);
      case bit_id:
        return id(v);
      case bit_token:
        return string(v, out.token, "token must be a string");
      case bit_tag:
        return string(v, out.tag, "tag must be a string");
      case bit_tags:
        return tags(v);
      case bit_since:
        return since(v);
      case bit_idem:
        return string(v, out.idem, "idem must be a string");
      case bit_mode:
        return string(v, out.mode, "mode must be \"all\" or \"latest\"");
      case bit_interval:
        return interval(v);
      case bit_presence:
        return presence(v);
      default:
        return data(v, out.data);
    }
  }

  // After a refusal: the id, if it comes later, is still wanted for the `err`.
  step id_only(std::string_view k, od::value& v) {
    if (k != "id" || (seen & bit_id) != 0) {
      return step::ok;
    }
    seen |= bit_id;
    const char* first = reason;
    const step s = id(v);
    reason = first;
    return s;
  }

  // The op's required fields; the fields it does not use are cleared.
  const char* check_op() {
    if ((seen & bit_op) == 0) {
      return "missing op";
    }
    const bool uses_tags = out.op == op_kind::sub || out.op == op_kind::unsub;
    if (out.op != op_kind::auth) {
      out.token = {};
    }
    if (out.op != op_kind::pub && out.op != op_kind::presence) {
      out.tag = {};
      out.data = {};
      out.idem = {};
    }
    if (!uses_tags) {
      out.tags.clear();
    }
    if (out.op != op_kind::sub) {
      out.presence = false;
      out.since.clear();
      out.since_known.clear();
      out.mode = {};
      out.interval_ms = 0;
    } else if (out.mode == "latest") {
      if ((seen & bit_interval) == 0 || out.interval_ms < min_latest_interval_ms ||
          out.interval_ms > max_latest_interval_ms) {
        return "mode latest needs interval_ms from 10 to 60000";
      }
    } else if (out.mode.empty() || out.mode == "all") {
      out.interval_ms = 0;
    } else {
      return "mode must be \"all\" or \"latest\"";
    }
    switch (out.op) {
      case op_kind::auth:
        return (seen & bit_token) != 0 ? nullptr : "missing token";
      case op_kind::sub:
      case op_kind::unsub:
        return (seen & bit_tags) != 0 ? nullptr : "missing tags";
      case op_kind::pub:
        if ((seen & bit_tag) == 0) {
          return "missing tag";
        }
        if ((seen & bit_idem) != 0 && !is_valid_idem(out.idem)) {
          return "idem must be 1 to 64 printable ASCII characters";
        }
        return (seen & bit_data) != 0 ? nullptr : "missing data";
      case op_kind::presence:
        return (seen & bit_tag) != 0 ? nullptr : "missing tag";
      case op_kind::ping:
        return nullptr;
    }
    return nullptr;
  }
};

void reset(command& out) {
  out.op = op_kind::ping;
  out.id = {};
  out.token = {};
  out.tag = {};
  out.data = {};
  out.idem = {};
  out.mode = {};
  out.interval_ms = 0;
  out.presence = false;
  out.tags.clear();
  out.since.clear();
  out.since_known.clear();
}

}  // namespace

std::size_t json_padding() { return simdjson::SIMDJSON_PADDING; }

struct command_parser::impl {
  explicit impl(std::size_t max_bytes) : max_frame_bytes(max_bytes), parser(max_bytes) {}
  std::size_t max_frame_bytes;
  od::parser parser;
};

command_parser::command_parser(std::size_t max_frame_bytes)
    : impl_(std::make_unique<impl>(max_frame_bytes < 64 ? 64 : max_frame_bytes)) {
  // Everything up front: iterate() would otherwise allocate on the first (and each bigger)
  // frame. Depth only sizes simdjson's debug bookkeeping; our own walk caps the nesting.
  const auto e = impl_->parser.allocate(impl_->max_frame_bytes, max_value_depth + 8);
  WSA_CHECK(e == simdjson::SUCCESS, "simdjson parser allocation failed");
}

command_parser::~command_parser() = default;

std::size_t command_parser::max_frame_bytes() const { return impl_->max_frame_bytes; }

bool command_parser::parse(const char* frame, std::size_t size, std::size_t capacity,
                           command& out, parse_error& err) {
  reset(out);
  err = parse_error{};
  if (size > impl_->max_frame_bytes) {
    err.code = "too_large";
    err.reason = "frame too large";
    return false;
  }
  WSA_ASSERT(capacity >= size && capacity - size >= simdjson::SIMDJSON_PADDING);
  if (capacity < size || capacity - size < simdjson::SIMDJSON_PADDING) {
    err.code = "internal";
    err.reason = "frame buffer lacks padding";
    return false;
  }

  od::document doc;
  if (auto e = impl_->parser.iterate(frame, size, capacity).get(doc)) {
    err.code = e == simdjson::CAPACITY ? "too_large" : "bad_request";
    err.reason = json_reason(e);
    return false;
  }
  od::object root;
  if (auto e = doc.get_object().get(root)) {
    err.reason = e == simdjson::INCORRECT_TYPE ? "frame must be a JSON object" : json_reason(e);
    return false;
  }

  frame_ctx ctx{out, frame, frame + size};
  step state = step::ok;
  for (auto field_result : root) {
    if (auto e = field_result.error()) {
      state = ctx.broken(e);
      break;
    }
    od::field& f = field_result.value_unsafe();
    std::string_view k;
    const step key_state = ctx.key(f, k);
    if (key_state != step::ok) {
      state = key_state;
      break;
    }
    const step s = state == step::ok ? ctx.field(k, f.value()) : ctx.id_only(k, f.value());
    if (s == step::broken) {
      state = step::broken;
      break;
    }
    if (s == step::refused) {
      state = step::refused;
    }
  }
  if (state == step::ok) {
    // The object must be all of the frame: the iterator stands at the end of the input.
    const char* next = nullptr;
    if (doc.current_location().get(next) != simdjson::OUT_OF_BOUNDS) {
      ctx.fail(step::broken, "trailing content after the JSON object");
    } else {
      ctx.reason = ctx.check_op();
    }
  }
  if (ctx.reason != nullptr) {
    err.reason = ctx.reason;
    err.id = out.id;
    reset(out);
    return false;
  }
  return true;
}

}  // namespace wsa
