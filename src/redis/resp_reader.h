// Reading RESP2 replies: the one adapter around hiredis' reply parser (docs/style.md guideline
// 11; hiredis 0.14.1 `redisReader`). Bytes received from a Redis socket are fed in; whole
// replies come out as views into an arena the reader owns, so that no hiredis type and no
// per-reply allocation leaks into the code that reads them. A view stays valid until the
// next next()/feed()/reset(). Errors (malformed input) are sticky: the connection that fed
// them must be dropped and a fresh reader used (reset()).
// Owned by one Redis link; its shard's thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsa {

/// RESP2 reply types (values match hiredis' REDIS_REPLY_*).
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
  ~resp_reader();
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
  /// its bytes not parsed yet. An array header is judged alone (each element announced
  /// costs its bookkeeping at least), so a huge count is refused before anything is
  /// allocated for it. The verdict does not depend on how the bytes were cut. 0: no limit.
  void set_max_reply_bytes(std::size_t bytes) { max_reply_bytes_ = bytes; }
  /// The error was a reply over the limit.
  bool too_large() const { return too_large_; }

  const char* error_text() const;

 private:
  friend class resp_view;
  struct node {
    resp_type type;
    uint32_t count;     ///< array: elements
    uint64_t offset;    ///< string: into text_; array: first slot in children_
    uint64_t length;    ///< string: bytes
    int64_t integer;
  };
  // hiredis' object callbacks (resp_reader.cpp) build nodes through this; an object is a
  // node index + 1 cast to void*. `task` is a redisReadTask.
  friend struct resp_reader_access;
  void* add(const void* task, node n);
  void clear_arena();
  /// What the reply being read holds in the arena.
  std::size_t arena_bytes() const;
  /// Whether `more` bytes may join the reply being read; if not, marks it too large.
  bool fits(std::size_t more);

  void* reader_ = nullptr;  // redisReader*
  bool last_was_reply_ = false;
  bool failed_ = false;
  bool too_large_ = false;
  std::size_t max_reply_bytes_ = 0;
  std::string limit_text_;  // the error text of a reply over the limit
  std::vector<node> nodes_;
  std::vector<uint32_t> children_;
  std::string text_;
};

}  // namespace wsa
