// A resumable RESP2 parser; see resp_reader.h. Elements are parsed one at a time from the
// fed bytes; an element cut by the end of a receive is parsed again whole once more bytes
// have come (only a short line or a bulk string's header is read twice). Arrays being
// filled wait on a small stack. Nothing is freed per reply: the arena is cleared when the
// next reply starts, and the fed bytes of finished replies are dropped at the next feed.
#include "redis/resp_reader.h"

#include <cstring>
#include <string>

#include "util/release.h"

namespace wsa {
namespace {

// Above these capacities, buffers emptied between replies are given back (one large
// reply must not pin its memory for the connection's life).
constexpr std::size_t keep_bytes = 256 * 1024;
constexpr std::size_t keep_nodes = 8192;
// A number line (":", "$", "*") has at most a sign and 19 digits.
constexpr std::size_t max_number_chars = 20;
// Redis refuses bulk strings above 512 MB (proto-max-bulk-len); so do we.
constexpr int64_t max_bulk_bytes = int64_t{512} << 20;
constexpr int64_t max_array_count = 0x7fffffff;
// Nested arrays: Redis' own replies (SCAN, XRANGE, CLUSTER SLOTS, EXEC of those) need 4.
constexpr std::size_t max_depth = 8;
// Arrays up to this many elements may be read in one pass (parse_flat_array).
constexpr int64_t max_flat_elements = 8;

// The number line of the element at `p` (its type byte), within [p, end): "[-]digits\r\n".
// Numbers are read as they are scanned (no search for the line end first).
enum class number { done, more, bad };
[[gnu::always_inline]] inline number read_number(const char* p, const char* end,
                                                 int64_t& value, const char*& after) {
  const char* q = p + 1;
  const bool negative = q < end && *q == '-';
  q += negative ? 1 : 0;
  const char* digits = q;
  uint64_t v = 0;
  while (q < end) {
    const unsigned d = static_cast<unsigned char>(*q) - unsigned{'0'};
    if (d > 9) {
      break;
    }
    v = v * 10 + d;
    ++q;
  }
  const std::ptrdiff_t count = q - digits;
  if (count > 19) {
    return number::bad;  // longer than any 64-bit number, cut or not
  }
  if (end - q < 2) {
    return q == end || *q == '\r' ? number::more : number::bad;
  }
  if (count == 0 || q[0] != '\r' || q[1] != '\n' ||
      v > (negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1)) {
    return number::bad;
  }
  value = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  after = q + 2;
  return number::done;
}

}  // namespace

resp_reader::resp_reader() { reset(); }

void resp_reader::reset() {
  in_.clear();
  start_ = 0;
  pos_ = 0;
  scanned_ = 0;
  failed_ = false;
  too_large_ = false;
  last_was_reply_ = false;
  error_.clear();
  clear_arena();
}

void resp_reader::clear_arena() {
  nodes_.clear();
  children_.clear();
  kids_.clear();
  open_.clear();
  held_ = 0;
}

void resp_reader::forget_last_reply() {
  if (last_was_reply_) {
    // The previous reply is done with; a partial next reply never starts before it ends.
    clear_arena();
    start_ = pos_;
    last_was_reply_ = false;
  }
}

bool resp_reader::fits(std::size_t more) {
  // Each element is judged at its full cost (a string: its bytes and a node), which is
  // more than its bytes on the wire, so the bytes of an element not yet whole never refuse
  // a reply that would fit: the verdict is the same however the replies were cut.
  if (max_reply_bytes_ == 0 || (more <= max_reply_bytes_ && held_ <= max_reply_bytes_ - more)) {
    return true;
  }
  too_large_ = true;
  error_ = "a reply larger than " + std::to_string(max_reply_bytes_) +
           " bytes (--redis-max-reply-bytes)";
  return false;
}

resp_reader::step resp_reader::bad(const char* text) {
  error_ = text;
  return step::bad;
}

bool resp_reader::feed(const char* data, std::size_t size) {
  if (failed_) {
    return false;
  }
  forget_last_reply();
  // Views die here: the bytes before the current reply can go.
  if (start_ == in_.size()) {
    release_if_grown(in_, keep_bytes);
    in_.clear();
    pos_ = 0;
    start_ = 0;
    if (nodes_.capacity() > keep_nodes) {
      std::vector<node>().swap(nodes_);
      std::vector<uint32_t>().swap(children_);
      std::vector<uint32_t>().swap(kids_);
    }
  } else if (start_ != 0) {
    in_.erase(0, start_);
    pos_ -= start_;
    start_ = 0;
  }
  in_.append(data, size);
  return true;
}

resp_reader::result resp_reader::next(resp_view& out) {
  if (failed_) {
    return result::error;
  }
  forget_last_reply();
  if (open_.empty() && nodes_.empty() && parse_flat_array()) {
    last_was_reply_ = true;
    out = resp_view(this, 0);
    return result::reply;
  }
  for (;;) {
    const step s = parse_element();
    if (s == step::bad) {
      failed_ = true;
      return result::error;
    }
    if (s == step::more) {
      if (max_reply_bytes_ != 0 && !fits(in_.size() - pos_)) {
        failed_ = true;
        return result::error;
      }
      return result::none;
    }
    if (open_.empty()) {
      last_was_reply_ = true;
      out = resp_view(this, 0);  // the root is the reply's first node
      return result::reply;
    }
  }
}

const char* resp_reader::error_text() const {
  return error_.empty() ? "protocol error" : error_.c_str();
}

// The line of the element at pos_ (after its type byte) ends at `line_end` ("\r\n").
resp_reader::step resp_reader::parse_line(std::size_t& line_end) {
  const std::size_t first = pos_ + 1;
  std::size_t at = first + scanned_;
  while (at < in_.size()) {
    const void* cr = std::memchr(in_.data() + at, '\r', in_.size() - at);
    if (cr == nullptr) {
      break;
    }
    const std::size_t i = static_cast<std::size_t>(static_cast<const char*>(cr) - in_.data());
    if (i + 1 == in_.size()) {
      scanned_ = i - first;  // the '\n' may be next
      return step::more;
    }
    if (in_[i + 1] == '\n') {
      line_end = i;
      return step::done;
    }
    at = i + 1;
  }
  scanned_ = in_.size() - first;
  return step::more;
}

void resp_reader::add(const node& n) {
  auto index = static_cast<uint32_t>(nodes_.size());
  nodes_.push_back(n);
  if (n.type == resp_type::array && n.count > 0) {
    open_.push_back(open_array{index, n.count});
    return;
  }
  // A whole element joins its array; an array whose last element this was is whole too.
  // Elements wait in kids_ until their array is whole, then move to children_ side by side:
  // no slots are allocated for elements only announced.
  while (!open_.empty()) {
    kids_.push_back(index);
    open_array& parent = open_.back();
    if (--parent.left != 0) {
      return;
    }
    node& array = nodes_[parent.node];
    array.offset = children_.size();
    children_.insert(children_.end(), kids_.end() - array.count, kids_.end());
    kids_.resize(kids_.size() - array.count);
    index = parent.node;
    open_.pop_back();
  }
}

bool resp_reader::parse_flat_array() {
  // Most replies are small arrays of integers and bulk strings, whole in the bytes fed:
  // a publish's [seq, ts], a pub/sub message. They are read here in one pass, their nodes
  // written in place. Anything else (cut, nested, nil, status, malformed, over the limit)
  // is undone and left to parse_element, which gives every verdict: the outcome is the
  // same as through it, however the bytes were cut.
  const char* const base = in_.data();
  const char* const end = base + in_.size();
  const char* p = base + pos_;
  int64_t count = 0;
  if (p == end || *p != '*' || read_number(p, end, count, p) != number::done || count < 1 ||
      count > max_flat_elements) {
    return false;
  }
  std::size_t held = sizeof(node) + static_cast<std::size_t>(count) * sizeof(uint32_t);
  int64_t length = 0;
  nodes_.push_back(node{resp_type::array, static_cast<uint32_t>(count), 0, 0, 0});
  for (int64_t i = 0; i < count; ++i) {
    node n{};
    if (p != end && *p == ':' && read_number(p, end, n.integer, p) == number::done) {
      n.type = resp_type::integer;
    } else if (const char* body = nullptr;
               p != end && *p == '$' && read_number(p, end, length, body) == number::done &&
               length >= 0 && length <= max_bulk_bytes && length <= end - body - 2 &&
               body[length] == '\r' && body[length + 1] == '\n') {
      n.type = resp_type::string;
      n.offset = static_cast<std::size_t>(body - base) - start_;
      n.length = static_cast<uint64_t>(length);
      held += n.length;
      p = body + n.length + 2;
    } else {
      nodes_.clear();
      children_.clear();
      return false;
    }
    held += sizeof(node);
    children_.push_back(static_cast<uint32_t>(nodes_.size()));
    nodes_.push_back(n);
  }
  if (max_reply_bytes_ != 0 && held > max_reply_bytes_) {
    nodes_.clear();
    children_.clear();
    return false;
  }
  held_ = held;
  pos_ = static_cast<std::size_t>(p - base);
  scanned_ = 0;
  return true;
}

resp_reader::step resp_reader::number_step(int number_result) {
  if (number_result == static_cast<int>(number::more)) {
    return step::more;
  }
  return bad("Protocol error: bad number");
}

resp_reader::step resp_reader::parse_element() {
  const char* const base = in_.data();
  const char* const p = base + pos_;
  const char* const end = base + in_.size();
  if (p == end) {
    return step::more;
  }
  node n{};
  std::size_t cost = sizeof(node);
  const char* next = nullptr;
  switch (*p) {
    case ':': {
      const number r = read_number(p, end, n.integer, next);
      if (r != number::done) {
        return number_step(static_cast<int>(r));
      }
      n.type = resp_type::integer;
      break;
    }
    case '$': {
      int64_t length = 0;
      const char* body = nullptr;
      const number r = read_number(p, end, length, body);
      if (r != number::done) {
        return number_step(static_cast<int>(r));
      }
      if (length == -1) {
        n.type = resp_type::nil;
        next = body;
        break;
      }
      if (length < -1 || length > max_bulk_bytes) {
        return bad("Protocol error: bad bulk string length");
      }
      const auto bytes = static_cast<std::size_t>(length);
      if (static_cast<std::size_t>(end - body) < bytes + 2) {
        return step::more;
      }
      if (body[bytes] != '\r' || body[bytes + 1] != '\n') {
        return bad("Protocol error: a bulk string longer than announced");
      }
      n.type = resp_type::string;
      n.offset = static_cast<std::size_t>(body - base) - start_;
      n.length = bytes;
      cost += bytes;
      next = body + bytes + 2;
      break;
    }
    case '*': {
      int64_t count = 0;
      const number r = read_number(p, end, count, next);
      if (r != number::done) {
        return number_step(static_cast<int>(r));
      }
      if (count == -1) {
        n.type = resp_type::nil;
        break;
      }
      if (count < -1 || count > max_array_count) {
        return bad("Protocol error: bad array length");
      }
      if (count > 0 && open_.size() >= max_depth) {
        return bad("Protocol error: arrays nested too deep");
      }
      // Judged from the header alone: each element announced costs its node at least, so
      // a huge count is refused before anything is allocated for it.
      const auto elements = static_cast<std::size_t>(count);
      if (max_reply_bytes_ != 0 &&
          !fits(sizeof(node) + elements * (sizeof(uint32_t) + sizeof(node)))) {
        return step::bad;
      }
      n.type = resp_type::array;
      n.count = static_cast<uint32_t>(elements);
      cost += elements * sizeof(uint32_t);
      break;
    }
    case '+':
    case '-': {
      std::size_t line_end = 0;
      if (parse_line(line_end) == step::more) {
        return step::more;
      }
      const std::size_t length = line_end - (pos_ + 1);
      n.type = *p == '+' ? resp_type::status : resp_type::error;
      n.offset = pos_ + 1 - start_;
      n.length = length;
      cost += length;
      next = base + line_end + 2;
      break;
    }
    default: {
      const unsigned char c = static_cast<unsigned char>(*p);
      error_ = "Protocol error, got ";
      if (c >= 0x20 && c < 0x7f) {
        error_ += std::string("\"") + *p + "\"";
      } else {
        error_ += "byte " + std::to_string(c);
      }
      error_ += " as reply type byte";
      return step::bad;
    }
  }
  if (max_reply_bytes_ != 0 && n.type != resp_type::array && !fits(cost)) {
    return step::bad;
  }
  held_ += cost;
  add(n);
  pos_ = static_cast<std::size_t>(next - base);
  scanned_ = 0;
  return step::done;
}

}  // namespace wsa
