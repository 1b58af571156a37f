// Reading RESP2 replies. Bytes received from a Redis socket are fed in (copied once); whole
// replies come out as views: strings point into the fed bytes, elements are nodes in an
// arena the reader reuses, so no reply costs an allocation or a copy of its strings. The
// parser is our own and resumable (a reply cut anywhere continues where it stopped): hiredis'
// reader built each element through a callback and copied every string, about half of the
// server's instructions per message on the Redis path (docs/benchmarks.md). A view stays
// valid until the next next()/feed()/reset(). Errors (malformed input) are sticky: the
// connection that fed them must be dropped and a fresh reader used (reset()).
// Owned by one Redis link; its shard's thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/check.h"

namespace wsa {

/// RESP2 reply types (values as hiredis' REDIS_REPLY_*).
enum class resp_type : uint8_t {
  string = 1,   ///< bulk string
  array = 2,
  integer = 3,
  nil = 4,      ///< null bulk string or null array
  status = 5,   ///< "+OK"
  error = 6,    ///< "-ERR ..."
};

class resp_reader;

/// One element of a parsed reply.
class resp_view {
 public:
  resp_view() = default;  ///< refers to nothing until next() fills it
  resp_type type() const;
  bool is_array() const { return type() == resp_type::array; }
  bool is_error() const { return type() == resp_type::error; }
  /// Bytes of a string, status or error (empty for other types).
  std::string_view str() const;
  /// Value of an integer reply (0 for other types).
  int64_t integer() const;
  /// Elements of an array (0 for other types).
  std::size_t size() const;
  /// Element `i` (< size()) of an array.
  resp_view operator[](std::size_t i) const;

 private:
  friend class resp_reader;
  resp_view(const resp_reader* reader, uint32_t node) : reader_(reader), node_(node) {}
  const resp_reader* reader_ = nullptr;
  uint32_t node_ = 0;
};

class resp_reader {
 public:
  resp_reader();
  resp_reader(const resp_reader&) = delete;
  resp_reader& operator=(const resp_reader&) = delete;

  /// Appends received bytes (the reader copies them). False on a sticky error.
  bool feed(const char* data, std::size_t size);

  enum class result { none, reply, error };
  /// The next complete reply, if the bytes fed so far hold one. `error`: the stream is
  /// malformed (see error_text()); drop the connection.
  result next(resp_view& out);

  /// Forgets all state and any error: for a new connection.
  void reset();

  /// Refuses a reply (a sticky error, too_large()) that would make the reader hold more than
  /// `bytes`: its strings and its elements' bookkeeping (about 36 bytes an element), or
  /// the bytes of its element not parsed yet. An array header is judged alone (each element
  /// announced costs its bookkeeping at least), so a huge count is refused before anything
  /// is allocated for it. The verdict does not depend on how the bytes were cut. 0: no limit.
  void set_max_reply_bytes(std::size_t bytes) { max_reply_bytes_ = bytes; }
  /// The error was a reply over the limit.
  bool too_large() const { return too_large_; }

  const char* error_text() const;

 private:
  friend class resp_view;
  struct node {
    resp_type type;
    uint32_t count;     ///< array: elements
    uint64_t offset;    ///< string: from the reply's first byte in in_; array: into children_
                        ///< (set once the array is whole)
    uint64_t length;    ///< string: bytes
    int64_t integer;
  };
  /// An array still being filled.
  struct open_array {
    uint32_t node;
    uint32_t left;  ///< its elements still to come
  };
  /// Outcome of parsing one element.
  enum class step { done, more, bad };

  /// A small array of integers and bulk strings, whole in the bytes fed, read in one pass
  /// as the reply; false (nothing changed) for anything else.
  bool parse_flat_array();
  step parse_element();
  step parse_line(std::size_t& line_end);
  step number_step(int number_result);
  void add(const node& n);
  void clear_arena();
  /// The reply last returned by next() is done with (its views die): its arena and bytes go.
  void forget_last_reply();
  /// Whether `more` bytes may join the reply being read; if not, marks it too large.
  bool fits(std::size_t more);
  step bad(const char* text);

  std::string in_;             // fed bytes from the current reply's first on
  std::size_t start_ = 0;      // the current reply's first byte in in_
  std::size_t pos_ = 0;        // next byte to parse in in_
  std::size_t scanned_ = 0;    // bytes from pos_ known to hold no line end (a long line)
  std::size_t held_ = 0;       // what the reply being read costs (the limit's measure)
  bool last_was_reply_ = false;
  bool failed_ = false;
  bool too_large_ = false;
  std::size_t max_reply_bytes_ = 0;
  std::string error_;
  std::vector<node> nodes_;
  std::vector<uint32_t> children_;  // each whole array's elements, side by side
  std::vector<uint32_t> kids_;      // elements of arrays not yet whole, in order
  std::vector<open_array> open_;
};

// resp_view's accessors are inline: a reply's fields are read a few at a time in the
// broker's hot paths (publish replies, pub/sub messages), where a call each cost more than
// the read.
inline resp_type resp_view::type() const { return reader_->nodes_[node_].type; }

inline std::string_view resp_view::str() const {
  const resp_reader::node& n = reader_->nodes_[node_];
  if (n.type != resp_type::string && n.type != resp_type::status && n.type != resp_type::error) {
    return {};
  }
  return std::string_view(reader_->in_.data() + reader_->start_ + n.offset, n.length);
}

inline int64_t resp_view::integer() const {
  const resp_reader::node& n = reader_->nodes_[node_];
  return n.type == resp_type::integer ? n.integer : 0;
}

inline std::size_t resp_view::size() const {
  const resp_reader::node& n = reader_->nodes_[node_];
  return n.type == resp_type::array ? n.count : 0;
}

inline resp_view resp_view::operator[](std::size_t i) const {
  const resp_reader::node& n = reader_->nodes_[node_];
  WSA_ASSERT(n.type == resp_type::array && i < n.count);
  return resp_view(reader_, reader_->children_[n.offset + i]);
}

}  // namespace wsa
